// Login (SPEC §2): Kurzname der Organisation, Kurzname des Benutzers, Passwort — from an approved device.
import { useState } from "preact/hooks";
import { ApiError } from "./api";
import { login, type Session } from "./client";
import { Alert, Field, Progress } from "./components";
import { navigate } from "./router";
import { MSG_PASSWORD_TOO_LONG } from "./validation";
import { passwordLength } from "../protocol/primitives";

export function LoginPage({ onLogin }: { onLogin: (session: Session) => void }) {
  const params = new URLSearchParams(location.search);
  const [org, setOrg] = useState(params.get("org") ?? "");
  const [user, setUser] = useState(params.get("user") ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const tooLong = passwordLength(password) > 32 ? MSG_PASSWORD_TOO_LONG : null;

  const submit = async (event: Event) => {
    event.preventDefault();
    if (tooLong) return;
    setError(null);
    setProgress(0);
    try {
      onLogin(await login(org, user, password, setProgress));
    } catch (e) {
      setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };

  return (
    <>
      <h1>Anmelden</h1>
      <form class="card" onSubmit={submit} noValidate>
        <Field id="org" label="Kurzname der Organisation" value={org} onInput={setOrg} required
          autocomplete="organization" />
        <Field id="user" label="Kurzname des Benutzers" value={user} onInput={setUser} required
          autocomplete="username" />
        <Field id="password" label="Passwort" type="password" value={password} onInput={setPassword} required
          autocomplete="current-password" error={tooLong} />
        {error && <Alert>{error}</Alert>}
        {progress !== null && <Progress value={progress} label="Schlüssel werden abgeleitet …" />}
        <div class="actions">
          <button type="submit" disabled={progress !== null}>Anmelden</button>
        </div>
      </form>
      <p>Noch kein Zugang? <a href="/registrierung" onClick={(e) => { e.preventDefault(); navigate("/registrierung"); }}>
        Praxis registrieren</a></p>
    </>
  );
}
