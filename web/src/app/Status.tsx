// Status: the public status of the service (GET /api/v1/status), readable without logging in.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { components } from "./api-types";
import { Alert } from "./components";

type Status = Required<components["schemas"]["Status"]>;

export function StatusPage() {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<Status>("GET", "/status").then(setStatus, (e) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  const behind = status ? Object.values(status.projections).filter((p) => p < status.event_position).length : 0;
  return (
    <>
      <h1>Status</h1>
      {error && <Alert>Der Dienst ist gerade nicht erreichbar: {error}</Alert>}
      {status === null && !error && <p>Wird geladen …</p>}
      {status && (
        <section class="card" aria-label="Zustand des Dienstes">
          <p role="status">{status.status === "ok" ? "Der Dienst arbeitet normal."
            : "Der Dienst arbeitet eingeschränkt: Übersichten können kurz veraltet sein."}</p>
          <dl class="summary">
            <dt>Datenbank</dt><dd>{({ postgres: "PostgreSQL", postgresql: "PostgreSQL", sqlite: "SQLite" } as Record<string, string>)[status.database] ?? status.database}</dd>
            <dt>Ereignisse</dt><dd>{status.event_position.toLocaleString("de-DE")}</dd>
            <dt>Übersichten</dt><dd>{behind === 0 ? "aktuell" : `${behind} noch nicht aktuell`}</dd>
          </dl>
        </section>
      )}
    </>
  );
}
