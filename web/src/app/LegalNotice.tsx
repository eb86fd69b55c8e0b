// New versions of the Nutzungsbedingungen or the Auftragsverarbeitungsvertrag: asked for at the next login
// (issue 15 item 1). Administrators accept for the practice; the texts are readable without login.
import { useState } from "preact/hooks";
import { api, ApiError } from "./api";
import type { LegalPending, Session } from "./client";
import { Alert } from "./components";

const TITLES: Record<string, string> = {
  nutzungsbedingungen: "Nutzungsbedingungen",
  avv: "Auftragsverarbeitungsvertrag",
  datenschutz: "Datenschutzerklärung",
};

export function LegalNotice({ session, onAccepted }: { session: Session; onAccepted: (pending: LegalPending[]) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (session.legalPending.length === 0) return null;
  const accept = async () => {
    setBusy(true);
    setError(null);
    try {
      const documents = Object.fromEntries(session.legalPending.map((p) => [p.document, p.version]));
      const answer = await api<{ legal_pending: LegalPending[] }>("POST", "/legal/acceptances", { documents }, true);
      onAccepted(answer.legal_pending ?? []);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-label="Neue Vertragstexte">
      <h2>Neue Fassung der Vertragstexte</h2>
      <p>Bitte lesen Sie die neue Fassung und stimmen Sie ihr für Ihre Organisation zu:</p>
      <ul>
        {session.legalPending.map((p) => (
          <li key={p.document}>
            <a href={`/rechtliches/${p.document}`} target="_blank" rel="noopener">{TITLES[p.document] ?? p.document}</a>
            {" "}(Fassung {p.version})
          </li>
        ))}
      </ul>
      {error && <Alert>{error}</Alert>}
      {session.role === "admin"
        ? <div class="actions"><button type="button" disabled={busy} onClick={accept}>Zustimmen</button></div>
        : <p class="hint">Die Zustimmung gibt ein Administrator Ihrer Organisation.</p>}
    </section>
  );
}
