// Benutzer, continued (mirroring interfaces/client/users.py): per-user actions of an administrator (role,
// deactivate/reactivate, password reset in person) and the own password and master-password change. Every
// change carries a fresh signature of this device; new passwords are derived here and never sent.
import { useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Session } from "./client";
import { Alert, Field, Progress } from "./components";
import { changeMaster, changePassword, resetPassword, setActive, setRole, type User } from "./users";
import { MSG_PASSWORD_REPEAT, password as checkPassword } from "./validation";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A password form's state: values, field errors (typed or from the server), a progress bar while deriving. */
function usePasswordForm() {
  const [values, setValues] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const field = (key: string) => ({
    value: values[key] ?? "", error: errors[key] ?? null,
    onInput: (value: string) => {
      setValues({ ...values, [key]: value });
      const { [key]: _, ...rest } = errors;
      setErrors(rest);
    },
  });
  const run = async (checks: Record<string, string | null>, action: () => Promise<void>) => {
    const found = Object.fromEntries(Object.entries(checks).filter(([, m]) => m)) as Record<string, string>;
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return;
    setProgress(0);
    try {
      await action();
      setValues({});
    } catch (e) {
      setError(message(e));
      if (e instanceof ApiError) setErrors(Object.fromEntries(Object.entries(e.errors).map(([k, m]) => [k, m.join(" ")])));
    } finally {
      setProgress(null);
    }
  };
  return { values, field, run, error, progress, setProgress };
}

function ResetForm({ session, user, onDone }: { session: Session; user: User; onDone: (m: string) => void }) {
  const form = usePasswordForm();
  const id = `reset-${user.user_short}`;
  return (
    <form noValidate aria-label={`Passwort von ${user.user_short} zurücksetzen`} onSubmit={(e) => {
      e.preventDefault();
      void form.run({ password: checkPassword(form.values.password ?? ""),
        repeat: form.values.repeat === form.values.password ? null : MSG_PASSWORD_REPEAT },
      async () => {
        await resetPassword(session, user.user_short, form.values.password, form.setProgress);
        onDone(`Das Passwort von „${user.user_short}“ ist neu gesetzt.`);
      });
    }}>
      <p class="hint">„{user.user_short}“ gibt das neue Passwort hier selbst ein.</p>
      <Field id={`${id}-password`} label="Neues Passwort" type="password" required autocomplete="new-password"
        {...form.field("password")} />
      <Field id={`${id}-repeat`} label="Neues Passwort wiederholen" type="password" required autocomplete="new-password"
        {...form.field("repeat")} />
      {form.error && <Alert>{form.error}</Alert>}
      {form.progress !== null && <Progress value={form.progress} label="Schlüssel werden abgeleitet …" />}
      <button type="submit" disabled={form.progress !== null}>Passwort setzen</button>
    </form>
  );
}

export function UserActions({ session, user, onDone }:
  { session: Session; user: User; onDone: (message: string, expect: (u: User) => boolean) => void }) {
  const [busy, setBusy] = useState(false);
  const [resetting, setResetting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (session.role !== "admin" || user.user_short === session.userShort) return null;
  const run = async (action: () => Promise<void>, text: string, expect: (u: User) => boolean) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      onDone(text, expect);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  const name = user.user_short;
  const role = user.role === "admin" ? "staff" : "admin";
  return (
    <div>
      {user.active && (
        <button type="button" class="secondary" disabled={busy} onClick={() => run(() => setRole(session, name, role),
          `„${name}“ ist jetzt ${role === "admin" ? "Administrator" : "Mitarbeiter"}.`, (u) => u.role === role)}>
          {role === "admin" ? "Zum Administrator machen" : "Zum Mitarbeiter machen"}
          <span class="visually-hidden"> {name}</span></button>
      )}{" "}
      <button type="button" class="secondary" disabled={busy} onClick={() => run(
        () => setActive(session, name, !user.active), `„${name}“ ist ${user.active ? "deaktiviert" : "reaktiviert"}.`,
        (u) => u.active === !user.active)}>
        {user.active ? "Deaktivieren" : "Reaktivieren"}<span class="visually-hidden"> {name}</span></button>{" "}
      {user.active && (
        <button type="button" class="secondary" aria-expanded={resetting ? "true" : "false"}
          onClick={() => setResetting(!resetting)}>
          Passwort zurücksetzen<span class="visually-hidden"> {name}</span></button>
      )}
      {resetting && <ResetForm session={session} user={user} onDone={(text) => {
        setResetting(false);
        onDone(text, () => true);
      }} />}
      {error && <Alert>{error}</Alert>}
    </div>
  );
}

export function OwnPassword({ session }: { session: Session }) {
  const form = usePasswordForm();
  const [done, setDone] = useState<string | null>(null);
  return (
    <form class="card" noValidate aria-labelledby="own-password-title" onSubmit={(e) => {
      e.preventDefault();
      setDone(null);
      void form.run({
        old_password: form.values.old_password ? null : "Bitte das bisherige Passwort eingeben.",
        new_password: checkPassword(form.values.new_password ?? ""),
        repeat: form.values.repeat === form.values.new_password ? null : MSG_PASSWORD_REPEAT,
      }, async () => {
        const ended = await changePassword(session, form.values.old_password, form.values.new_password,
          form.setProgress);
        setDone(`Ihr Passwort ist geändert.${ended ? ` ${ended} andere Anmeldung(en) wurden beendet.` : ""}`);
      });
    }}>
      <h2 id="own-password-title">Eigenes Passwort ändern</h2>
      <Field id="old_password" label="Bisheriges Passwort" type="password" required autocomplete="current-password"
        {...form.field("old_password")} />
      <Field id="new_password" label="Neues Passwort" type="password" required autocomplete="new-password"
        hint="8 bis 32 Zeichen." {...form.field("new_password")} />
      <Field id="new_password_repeat" label="Neues Passwort wiederholen" type="password" required
        autocomplete="new-password" {...form.field("repeat")} />
      {form.error && <Alert>{form.error}</Alert>}
      {done && <p class="notice" role="status">{done}</p>}
      {form.progress !== null && <Progress value={form.progress} label="Schlüssel werden abgeleitet …" />}
      <div class="actions"><button type="submit" disabled={form.progress !== null}>Passwort ändern</button></div>
    </form>
  );
}

export function MasterPassword({ session }: { session: Session }) {
  const form = usePasswordForm();
  const [done, setDone] = useState<string | null>(null);
  if (session.role !== "admin") return null;
  return (
    <form class="card" noValidate aria-labelledby="master-title" onSubmit={(e) => {
      e.preventDefault();
      setDone(null);
      void form.run({
        old_master_password: form.values.old_master_password ? null : "Bitte das bisherige Masterpasswort eingeben.",
        repeat: form.values.repeat === form.values.new_master_password ? null :
          "Die Masterpasswörter stimmen nicht überein.",
      }, async () => {
        await changeMaster(session, form.values.old_master_password, form.values.new_master_password ?? "",
          form.setProgress);
        setDone("Das Masterpasswort ist geändert. Bitte bewahren Sie es sicher auf: Es stellt den Zugang wieder " +
          "her, wenn alle anderen Zugangsdaten verloren sind.");
      });
    }}>
      <h2 id="master-title">Masterpasswort ändern</h2>
      <Field id="old_master_password" label="Bisheriges Masterpasswort" type="password" required
        autocomplete="current-password" {...form.field("old_master_password")} />
      <Field id="new_master_password" label="Neues Masterpasswort" type="password" required autocomplete="new-password"
        hint="Mindestens 12 Zeichen oder 4 Wörter, nicht leicht zu erraten." {...form.field("new_master_password")} />
      <Field id="new_master_password_repeat" label="Neues Masterpasswort wiederholen" type="password" required
        autocomplete="new-password" {...form.field("repeat")} />
      {form.error && <Alert>{form.error}</Alert>}
      {done && <p class="notice" role="status">{done}</p>}
      {form.progress !== null && <Progress value={form.progress} label="Schlüssel werden abgeleitet …" />}
      <div class="actions"><button type="submit" disabled={form.progress !== null}>Masterpasswort ändern</button></div>
    </form>
  );
}
