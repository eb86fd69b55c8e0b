// Zugang wiederherstellen: with the master password on this browser (a fresh one, or one whose approval is
// still waiting), optionally with a new password for a user; the alarm mail's one-time unlock code can be
// entered when failed attempts of strangers have blocked the recovery.
import { useState } from "preact/hooks";
import { ApiError } from "./api";
import { Alert, Field, Progress } from "./components";
import { recover } from "./recovery";
import { navigate } from "./router";
import { MSG_PASSWORD_REPEAT, MSG_REQUIRED, password as checkPassword } from "./validation";

export function RecoveryPage() {
  const params = new URLSearchParams(location.search);
  const [values, setValues] = useState<Record<string, string>>({ org: params.get("org") ?? "",
    user: params.get("user") ?? "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [done, setDone] = useState<{ device: string; user: string | null } | null>(null);
  const pending = params.get("pending") === "1";
  const field = (key: string) => ({
    value: values[key] ?? "", error: errors[key] ?? null,
    onInput: (value: string) => {
      setValues({ ...values, [key]: value });
      const { [key]: _, ...rest } = errors;
      setErrors(rest);
    },
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    const v = (k: string) => values[k] ?? "";
    const reset = !!(v("user").trim() || v("new_password"));
    const checks: Record<string, string | null> = {
      org: v("org").trim() ? null : MSG_REQUIRED,
      master_password: v("master_password") ? null : MSG_REQUIRED,
      user: reset && !v("user").trim() ? MSG_REQUIRED : null,
      new_password: reset ? checkPassword(v("new_password")) : null,
      new_password_repeat: reset && v("new_password_repeat") !== v("new_password") ? MSG_PASSWORD_REPEAT : null,
    };
    const found = Object.fromEntries(Object.entries(checks).filter(([, m]) => m)) as Record<string, string>;
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return;
    setProgress(0);
    try {
      const result = await recover({ org: v("org"), masterPassword: v("master_password"),
        deviceName: v("device_name"), user: reset ? v("user") : undefined,
        newPassword: reset ? v("new_password") : undefined, unlock: v("unlock") }, setProgress);
      setDone({ device: result.deviceName, user: result.userShort });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      if (e instanceof ApiError) setErrors(Object.fromEntries(Object.entries(e.errors).map(([k, m]) => [k, m.join(" ")])));
    } finally {
      setProgress(null);
    }
  };
  const toLogin = () => {
    const query = new URLSearchParams({ org: values.org.trim(), ...(done?.user ? { user: done.user } : {}) });
    navigate(`/anmelden?${query}`);
  };

  if (done) {
    return (
      <>
        <h1>Zugang wiederherstellen</h1>
        <section class="card" aria-labelledby="recovered-title">
          <h2 id="recovered-title">Zugang wiederhergestellt</h2>
          <p role="status">Dieses Gerät („{done.device}“) ist mit dem Masterpasswort freigeschaltet.
            {done.user ? ` Das Passwort von „${done.user}“ ist neu gesetzt.` : ""} Alle Administratoren werden
            darüber informiert.</p>
          <button type="button" onClick={toLogin}>Weiter zur Anmeldung</button>
        </section>
      </>
    );
  }
  return (
    <>
      <h1>Zugang wiederherstellen</h1>
      <form class="card" onSubmit={submit} noValidate aria-labelledby="recovery-title">
        <h2 id="recovery-title">Mit dem Masterpasswort</h2>
        <p class="hint">{pending
          ? "Dieses Gerät wartet auf Freigabe. Mit dem Masterpasswort schalten Sie es hier selbst frei."
          : "Haben Sie alle freigegebenen Geräte oder Ihr Passwort verloren, schaltet das Masterpasswort diesen " +
            "Browser frei; auf Wunsch setzen Sie dabei ein neues Passwort."} Das Masterpasswort verlässt diesen
          Browser nicht.</p>
        <Field id="org" label="Kurzname der Organisation" required autocomplete="organization" {...field("org")} />
        <Field id="master_password" label="Masterpasswort" type="password" required autocomplete="current-password"
          {...field("master_password")} />
        {!pending && <Field id="device_name" label="Kurzname des Endgerätes"
          hint="Zum Beispiel „Empfang“ oder „Sprechzimmer 1“." {...field("device_name")} />}
        <fieldset>
          <legend>Neues Passwort (optional)</legend>
          <Field id="user" label="Kurzname des Benutzers" autocomplete="username" {...field("user")} />
          <Field id="new_password" label="Neues Passwort" type="password" autocomplete="new-password"
            hint="8 bis 32 Zeichen." {...field("new_password")} />
          <Field id="new_password_repeat" label="Neues Passwort wiederholen" type="password"
            autocomplete="new-password" {...field("new_password_repeat")} />
        </fieldset>
        <Field id="unlock" label="Entsperrcode aus der Warn-E-Mail (falls gesperrt)" {...field("unlock")} />
        {error && <Alert>{error}</Alert>}
        {progress !== null && <Progress value={progress} label="Masterpasswort wird geprüft …" />}
        <div class="actions"><button type="submit" disabled={progress !== null}>Zugang wiederherstellen</button></div>
      </form>
      <p><a href="/anmelden" onClick={(e) => { e.preventDefault(); navigate("/anmelden"); }}>Zurück zur Anmeldung</a></p>
    </>
  );
}
