// Stammdaten → Arbeitsplätze/Endgeräte: the organisation's devices with their status in German, and the
// approval of a waiting device by typing the pairing code shown on it (never without the code, §7).
import { useEffect, useState } from "preact/hooks";
import { approveDevice, type Device, listDevices, type Notice, STATUS } from "./devices";
import type { Session } from "./client";
import { Alert, Progress } from "./components";

const BERLIN = new Intl.DateTimeFormat("de-DE", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Berlin" });
const when = (iso: string | null) => (iso ? BERLIN.format(new Date(iso)) : "–");

function Approve({ session, device, onDone }: { session: Session; device: Device; onDone: () => void }) {
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const id = `code-${device.device_id}`;
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setProgress(0);
    try {
      await approveDevice(session, device.device_id, code, setProgress);
      onDone();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };
  return (
    <form onSubmit={submit} noValidate>
      <label for={id}>Kopplungscode von „{device.name}“</label>
      <input id={id} value={code} autocomplete="off" placeholder="XXXX-XXXX-XXXX" aria-invalid={error ? "true" : "false"}
        onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)} />
      {error && <Alert>{error}</Alert>}
      {progress !== null && <Progress value={progress} label="Kopplungscode wird geprüft …" />}
      <div class="actions"><button type="submit" disabled={progress !== null}>Freigeben</button></div>
    </form>
  );
}

export function DevicesPage({ session }: { session: Session }) {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = () => listDevices().then((r) => { setDevices(r.devices); setNotices(r.notices); },
    (e) => setError(e instanceof Error ? e.message : String(e)));
  useEffect(() => { void load(); }, []);

  return (
    <>
      <h1>Arbeitsplätze/Endgeräte</h1>
      {error && <Alert>{error}</Alert>}
      {done && <p class="notice" role="status">{done}</p>}
      {devices === null ? <p>Wird geladen …</p> : (
        <table class="list">
          <caption class="visually-hidden">Geräte der Organisation</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Angefragt von</th>
            <th scope="col">Freigegeben am</th></tr></thead>
          <tbody>
            {devices.map((d) => (
              <tr>
                <td>{d.name}{d.device_id === session.deviceId ? " (dieses Gerät)" : ""}</td>
                <td>{STATUS[d.status] ?? d.status}</td>
                <td>{d.requested_by ?? "–"}</td>
                <td>{when(d.approved_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {devices?.filter((d) => d.status === "pending").map((d) => (
        <section class="card" aria-label={`Freigabe von ${d.name}`}>
          <h2>„{d.name}“ wartet auf Freigabe</h2>
          <p>Angefragt von {d.requested_by ?? "–"} am {when(d.requested_at)}. Geben Sie den Kopplungscode ein, der auf
            dem neuen Gerät angezeigt wird.</p>
          <Approve session={session} device={d} onDone={() => { setDone(`„${d.name}“ ist freigegeben.`); void load(); }} />
        </section>
      ))}
      {notices.length > 0 && (
        <>
          <h2>Hinweise</h2>
          <ul>{notices.map((n) => <li>{when(n.at)}: {n.detail}</li>)}</ul>
        </>
      )}
    </>
  );
}
