// Stammdaten → Benutzer → Einladen: a one-time code for a new user who chooses their password on their own
// new browser (§8a item 10). The code is shown once; the secret derived from it stays in this browser.
import { useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Session } from "./client";
import { Alert, Field, Progress, Select } from "./components";
import { inviteUser } from "./invites";
import { shortName } from "./validation";

export function InviteUser({ session, onInvited }: { session: Session; onInvited: (user: string) => void }) {
  const [user, setUser] = useState("");
  const [role, setRole] = useState("staff");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [issued, setIssued] = useState<{ user: string; code: string } | null>(null);
  const problem = touched ? shortName(user) : null;

  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched(true);
    if (shortName(user)) return;
    setError(null);
    setIssued(null);
    setProgress(0);
    try {
      const invited = user.trim();
      const code = await inviteUser(session, invited, role, setProgress);
      setIssued({ user: invited, code });
      setUser("");
      setTouched(false);
      onInvited(invited);
    } catch (e) {
      setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="invite-user-title">
      <h2 id="invite-user-title">Benutzer einladen</h2>
      <p class="hint">Die neue Person wählt ihr Passwort mit einem Einmalcode selbst auf ihrem eigenen Gerät
        (unter „Einladung einlösen“ auf der Anmeldeseite).</p>
      <Field id="invite-user" label="Kurzname des Benutzers" value={user} required error={problem}
        onInput={(v) => { setUser(v); setTouched(true); }} />
      <Select id="invite-role" label="Rolle" value={role} required onInput={(v) => setRole(v || "staff")}
        options={[["staff", "Mitarbeiter (Organisation, keine Sprechstunde)"], ["admin", "Administrator"]]} />
      {error && <Alert>{error}</Alert>}
      {progress !== null && <Progress value={progress} label="Einladungscode wird vorbereitet …" />}
      {issued && (
        <div class="notice" role="status">
          <p>Einladungscode für „{issued.user}“: <output id="invite-code" aria-label="Einladungscode">{issued.code}</output></p>
          <p>Geben Sie den Code persönlich oder am Telefon weiter, nicht per E-Mail. Er gilt 72 Stunden und wird
            nur jetzt angezeigt. Nach dem Einlösen geben Sie an diesem Browser unter „Stammdaten →
            Arbeitsplätze/Endgeräte“ den Kopplungscode des neuen Geräts ein.</p>
        </div>
      )}
      <div class="actions"><button type="submit" disabled={progress !== null}>Einladen</button></div>
    </form>
  );
}
