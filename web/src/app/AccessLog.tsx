// Stammdaten → Zugriffsprotokoll (admins only): who used the practice's account — logins with device, user and
// network, device requests and approvals, master-password recoveries, code uses, contract changes. Newest first.
import { useEffect, useState } from "preact/hooks";
import { type AccessEntry, KINDS, LABELS, readAccessLog } from "./accesslog";
import type { Session } from "./client";
import { Alert } from "./components";

const PAGE = 50;
const BERLIN = new Intl.DateTimeFormat("de-DE", { dateStyle: "medium", timeStyle: "medium", timeZone: "Europe/Berlin" });
const SHOWN = ["user", "device", "ip"];

function details(entry: AccessEntry): string {
  return Object.entries(entry).filter(([key]) => key !== "at" && key !== "kind" && !SHOWN.includes(key))
    .map(([key, value]) => `${LABELS[key] ?? key}: ${value}`).join(", ");
}

export function AccessLogPage({ session }: { session: Session }) {
  const [entries, setEntries] = useState<AccessEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [page, setPage] = useState(0);
  useEffect(() => {
    if (session.role !== "admin") return;
    readAccessLog(session).then(setEntries, (e) => setError(e instanceof Error ? e.message : String(e)));
  }, [session]);

  if (session.role !== "admin") {
    return <><h1>Zugriffsprotokoll</h1><Alert>Nur Administratoren dürfen das Zugriffsprotokoll lesen.</Alert></>;
  }
  const pages = entries === null ? 0 : Math.max(1, Math.ceil(entries.length / PAGE));
  const shown = entries?.slice(page * PAGE, (page + 1) * PAGE) ?? [];
  return (
    <>
      <h1>Zugriffsprotokoll</h1>
      <p class="hint">Nur Ihre Praxis kann dieses Protokoll lesen: es wird verschlüsselt gespeichert und in diesem
        Browser entschlüsselt. Einträge werden nach drei Monaten gelöscht. Das Netz ist der Anfang der
        IP-Adresse und zeigt nur ungefähr, woher der Zugriff kam.</p>
      {error && <Alert>{error}</Alert>}
      {entries === null && !error && <p>Wird geladen …</p>}
      {entries !== null && entries.length === 0 && <p>Noch keine Einträge.</p>}
      {entries !== null && entries.length > 0 && (
        <>
          <table class="list">
            <caption class="visually-hidden">Zugriffe auf das Konto der Praxis, neueste zuerst</caption>
            <thead><tr><th scope="col">Zeit</th><th scope="col">Ereignis</th><th scope="col">Benutzer</th>
              <th scope="col">Gerät</th><th scope="col">Netz</th><th scope="col">Weitere Angaben</th></tr></thead>
            <tbody>
              {shown.map((entry) => (
                <tr>
                  <td>{BERLIN.format(new Date(entry.at))}</td>
                  <td>{KINDS[entry.kind] ?? entry.kind}</td>
                  <td>{entry.user ?? "–"}</td>
                  <td>{entry.device ?? "–"}</td>
                  <td>{entry.ip ?? "–"}</td>
                  <td>{details(entry) || "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {pages > 1 && (
            <nav class="actions" aria-label="Seiten des Zugriffsprotokolls">
              <button type="button" class="secondary" disabled={page === 0} onClick={() => setPage(page - 1)}>
                Neuere Einträge</button>
              <span aria-live="polite">Seite {page + 1} von {pages}</span>
              <button type="button" class="secondary" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
                Ältere Einträge</button>
            </nav>
          )}
        </>
      )}
    </>
  );
}
