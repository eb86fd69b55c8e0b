// Stammdaten → Arbeitsplätze/Endgeräte: the organisation's devices with their status in German, and the
// approval of a waiting device by typing the pairing code shown on it (never without the code, §7).
import { useEffect, useState } from "preact/hooks";
import { approveDevice, type Device, listDevices, type Notice, revokeDevice, setLocked, STATUS } from "./devices";
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

type Done = (message: string, deviceId: string, status: string) => void;

function Actions({ session, device, onDone }: { session: Session; device: Device; onDone: Done }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>, message: string, status: string) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      setConfirming(false);
      onDone(message, device.device_id, status);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  if (device.device_id === session.deviceId || !["approved", "locked", "pending"].includes(device.status)) return null;
  const locked = device.status === "locked";
  return (
    <div>
      {device.status !== "pending" && (
        <button type="button" class="secondary" disabled={busy}
          onClick={() => run(() => setLocked(session, device.device_id, !locked),
            `„${device.name}“ ist ${locked ? "entsperrt" : "gesperrt"}.`, locked ? "approved" : "locked")}>
          {locked ? "Entsperren" : "Sperren"}<span class="visually-hidden"> {device.name}</span></button>
      )}{" "}
      <button type="button" class="secondary" disabled={busy} onClick={() => setConfirming(true)}>
        {device.status === "pending" ? "Ablehnen" : "Widerrufen"}<span class="visually-hidden"> {device.name}</span>
      </button>
      {confirming && (
        <div role="alertdialog" aria-label={`${device.name} widerrufen`} class="notice">
          {device.status === "pending"
            ? <p>Die Anfrage von „{device.name}“ wird abgelehnt.</p>
            : <p>„{device.name}“ verliert sofort den Zugang. Danach wird der Schlüsselbund erneuert (Version{" "}
              {session.keyring.version + 1}): alle übrigen Geräte und das Masterpasswort erhalten den neuen Schlüssel,
              neue Termine werden nur noch damit verschlüsselt. Bestehende Termine bleiben lesbar.</p>}
          <button type="button" disabled={busy} onClick={() => run(() => revokeDevice(session, device.device_id),
            `„${device.name}“ ist widerrufen.`, "revoked")}>Endgültig widerrufen</button>{" "}
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>Abbrechen</button>
        </div>
      )}
      {error && <Alert>{error}</Alert>}
    </div>
  );
}

export function DevicesPage({ session }: { session: Session }) {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // The list is a read model that follows each change within moments: after an action, read it again until it
  // shows the change (or give up after a few seconds and show what it says).
  const load = async (expect?: { deviceId: string; status: string }) => {
    try {
      for (let attempt = 0; ; attempt++) {
        const r = await listDevices();
        const current = expect && r.devices.find((d) => d.device_id === expect.deviceId)?.status;
        if (!expect || current === expect.status || attempt >= 20) {
          setDevices(r.devices);
          setNotices(r.notices);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  useEffect(() => {
    void load();
    // New requests appear by themselves while an approver keeps this page open (waiting for a colleague).
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, []);

  return (
    <>
      <h1>Arbeitsplätze/Endgeräte</h1>
      {error && <Alert>{error}</Alert>}
      {done && <p class="notice" role="status">{done}</p>}
      <p class="hint">Schlüsselbund-Version dieses Geräts: {session.keyring.version}</p>
      {devices === null ? <p>Wird geladen …</p> : (
        <table class="list">
          <caption class="visually-hidden">Geräte der Organisation</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Angefragt von</th>
            <th scope="col">Freigegeben am</th><th scope="col">Aktionen</th></tr></thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.device_id}>
                <td>{d.name}{d.device_id === session.deviceId ? " (dieses Gerät)" : ""}</td>
                <td>{STATUS[d.status] ?? d.status}</td>
                <td>{d.requested_by ?? "–"}</td>
                <td>{when(d.approved_at)}</td>
                <td><Actions session={session} device={d} onDone={(m, deviceId, status) => {
                  void load({ deviceId, status }).then(() => setDone(m));
                }} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {devices?.filter((d) => d.status === "pending").map((d) => (
        <section class="card" key={d.device_id} aria-label={`Freigabe von ${d.name}`}>
          <h2>„{d.name}“ wartet auf Freigabe</h2>
          <p>Angefragt von {d.requested_by ?? "–"} am {when(d.requested_at)}. Geben Sie den Kopplungscode ein, der auf
            dem neuen Gerät angezeigt wird.</p>
          <Approve session={session} device={d} onDone={() => {
            // The confirmation appears once the list shows the change, so both never disagree.
            void load({ deviceId: d.device_id, status: "approved" }).then(() => setDone(`„${d.name}“ ist freigegeben.`));
          }} />
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
