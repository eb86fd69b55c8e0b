// Status: the public status of the service (GET /api/v1/status), readable without logging in. The public
// answer says only whether the service and its database answer; details are for the operator (issue 10.9).
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import { Alert } from "./components";

interface PublicStatus {
  status: string;
}

export function StatusPage() {
  const [status, setStatus] = useState<PublicStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checkedAt, setCheckedAt] = useState<Date | null>(null);
  useEffect(() => {
    api<PublicStatus>("GET", "/status").then(
      (s) => { setStatus(s); setCheckedAt(new Date()); },
      (e) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, []);
  return (
    <>
      <h1>Status</h1>
      {error && <Alert>Der Dienst ist gerade gestört: {error}</Alert>}
      {status === null && !error && <p>Wird geladen …</p>}
      {status && (
        <section class="card" aria-label="Zustand des Dienstes">
          <p role="status">{status.status === "up" ? "Der Dienst arbeitet normal."
            : "Der Dienst arbeitet eingeschränkt."}</p>
          {checkedAt && (
            <p>Geprüft um {checkedAt.toLocaleTimeString("de-DE", { timeZone: "Europe/Berlin" })} Uhr.</p>
          )}
        </section>
      )}
    </>
  );
}
