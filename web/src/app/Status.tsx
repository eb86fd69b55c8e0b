// Status: the public status of the service (GET /api/v1/status), readable without logging in.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { components } from "./api-types";
import { Alert } from "./components";

// Without the operator token the server answers only {"status": "up"} (or 503); the details are the operator's.
type Status = components["schemas"]["Status"];

export function StatusPage() {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<Status>("GET", "/status").then(setStatus, (e) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  const position = status?.event_position ?? 0;
  const behind = Object.values(status?.projections ?? {}).filter((p) => p < position).length;
  return (
    <>
      <h1>Status</h1>
      {error && <Alert>Der Dienst ist gerade nicht erreichbar: {error}</Alert>}
      {status === null && !error && <p>Wird geladen …</p>}
      {status && (
        <section class="card" aria-label="Zustand des Dienstes">
          <p role="status">{status.status === "ok" || status.status === "up" ? "Der Dienst arbeitet normal."
            : "Der Dienst arbeitet eingeschränkt: Übersichten können kurz veraltet sein."}</p>
          {status.database && <dl class="summary">
            <dt>Datenbank</dt><dd>{({ postgres: "PostgreSQL", postgresql: "PostgreSQL", sqlite: "SQLite" } as Record<string, string>)[status.database ?? ""] ?? status.database}</dd>
            <dt>Ereignisse</dt><dd>{position.toLocaleString("de-DE")}</dd>
            <dt>Übersichten</dt><dd>{behind === 0 ? "aktuell" : `${behind} noch nicht aktuell`}</dd>
          </dl>}
        </section>
      )}
    </>
  );
}
