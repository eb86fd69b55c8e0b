// Einladung einlösen (§8a item 10) on the employee's new browser: choose the password with the one-time code,
// enrol this browser, show the pairing code, and log in by itself once the inviting administrator approves.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import { type Enrollment, type Session, waitForApproval } from "./client";
import { Alert, Field, PairingCodeCard, Progress, useFields } from "./components";
import { redeemInvite } from "./invites";
import { navigate } from "./router";
import { password as checkPassword, required, shortName } from "./validation";

const message = (e: unknown) => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

export function InvitationPage({ onLogin }: { onLogin: (session: Session) => void }) {
  const { values, setTouched, setErrors, set, shownFor } = useFields();
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const v = (key: string) => values[key] ?? "";

  useEffect(() => {
    if (!enrollment) return;
    const abort = new AbortController();
    waitForApproval(v("org"), v("user"), enrollment, abort.signal).then(onLogin, (e) => {
      if (!abort.signal.aborted) {
        setEnrollment(null);
        setError(message(e));
      }
    });
    return () => abort.abort();
  }, [enrollment]);

  const problems: Record<string, string | null> = {
    org: shortName(v("org")),
    user: shortName(v("user")),
    code: required(20)(v("code")),
    password: checkPassword(v("password")),
    password_repeat: v("password_repeat") === v("password") ? null : "Die Passwörter stimmen nicht überein.",
    device_name: required(64)(v("device_name")),
  };
  const shown = shownFor(problems);

  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched(Object.fromEntries(Object.keys(problems).map((k) => [k, true])));
    if (Object.values(problems).some(Boolean)) return;
    setError(null);
    setProgress(0);
    try {
      setEnrollment(await redeemInvite(v("org").trim(), v("user").trim(), v("code"), v("password"),
        v("device_name").trim(), setProgress));
    } catch (e) {
      setError(message(e));
      if (e instanceof ApiError) setErrors(Object.fromEntries(Object.entries(e.errors).map(([k, m]) => [k, m.join(" ")])));
    } finally {
      setProgress(null);
    }
  };

  if (enrollment) {
    return (
      <PairingCodeCard code={enrollment.pairingCode}>
        <p>Ihr Passwort ist gesetzt. Lassen Sie diesen Code an dem Gerät, an dem Sie eingeladen wurden, unter
          „Stammdaten → Arbeitsplätze/Endgeräte“ eingeben (bei Bedarf am Telefon vorlesen). Der Code verlässt
          dieses Gerät nicht; der Server kennt ihn nicht.</p>
        <p role="status" aria-live="polite">Warte auf Freigabe … Sie werden danach automatisch angemeldet.</p>
      </PairingCodeCard>
    );
  }

  return (
    <>
      <h1>Einladung einlösen</h1>
      <form class="card" onSubmit={submit} noValidate>
        <p class="hint">Den Einladungscode erhalten Sie von der Administratorin bzw. dem Administrator Ihrer
          Organisation. Ihr Passwort wählen Sie hier selbst; es verlässt diesen Browser nicht.</p>
        <Field id="org" label="Kurzname der Organisation" value={v("org")} onInput={set("org")} required
          autocomplete="organization" error={shown("org")} />
        <Field id="user" label="Kurzname des Benutzers" value={v("user")} onInput={set("user")} required
          autocomplete="username" error={shown("user")} />
        <Field id="code" label="Einladungscode" value={v("code")} onInput={set("code")} required
          autocomplete="off" hint="12 Zeichen, zum Beispiel XXXX-XXXX-XXXX." error={shown("code")} />
        <Field id="password" label="Neues Passwort" type="password" value={v("password")} onInput={set("password")}
          required autocomplete="new-password" hint="8 bis 32 Zeichen." error={shown("password")} />
        <Field id="password-repeat" label="Neues Passwort wiederholen" type="password" value={v("password_repeat")}
          onInput={set("password_repeat")} required autocomplete="new-password" error={shown("password_repeat")} />
        <Field id="device-name" label="Kurzname des Endgerätes" value={v("device_name")} onInput={set("device_name")}
          required hint="Zum Beispiel „Empfang“ oder „Sprechzimmer 1“." error={shown("device_name")} />
        {error && <Alert>{error}</Alert>}
        {progress !== null && <Progress value={progress} label="Schlüssel werden abgeleitet …" />}
        <div class="actions"><button type="submit" disabled={progress !== null}>Einladung einlösen</button></div>
      </form>
      <p><a href="/anmelden" onClick={(e) => { e.preventDefault(); navigate("/anmelden"); }}>Zur Anmeldung</a></p>
    </>
  );
}
