// Stammdaten → Benutzer: the organisation's users and roles, and adding a user in person (the employee types
// their own password into this dialog). Staff logins are for organisation only (KBV).
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Session } from "./client";
import { Alert, Field, Progress, Select, useFields } from "./components";
import { InviteUser } from "./InviteUser";
import { MasterPassword, OwnPassword, UserActions } from "./UserAdmin";
import { addUser, listUsers, ROLES, type User } from "./users";
import { password as checkPassword, shortName } from "./validation";

export function UsersPage({ session }: { session: Session }) {
  const [users, setUsers] = useState<User[] | null>(null);
  const { values, setValues, setTouched, setErrors, set, shownFor } = useFields({ role: "staff" });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  // The list is a read model: after a change, read it again until it shows the change (a few seconds at most).
  const load = async (expect?: string | ((list: User[]) => boolean)) => {
    try {
      for (let attempt = 0; ; attempt++) {
        const list = await listUsers();
        const shown = typeof expect === "function" ? expect(list) : list.some((u) => u.user_short === expect);
        if (!expect || shown || attempt >= 20) {
          setUsers(list);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  useEffect(() => { void load(); }, []);

  const problems: Record<string, string | null> = {
    user_short: shortName(values.user_short ?? ""),
    password: checkPassword(values.password ?? ""),
    password_repeat: values.password_repeat === values.password ? null : "Die Passwörter stimmen nicht überein.",
  };
  const shown = shownFor(problems);

  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched({ user_short: true, password: true, password_repeat: true });
    if (Object.values(problems).some(Boolean)) return;
    setError(null);
    setDone(null);
    setProgress(0);
    try {
      const added = values.user_short.trim();
      await addUser(session, added, values.role, values.password, setProgress);
      setValues({ role: "staff" });
      setTouched({});
      await load(added);
      setDone(`Benutzer „${added}“ ist angelegt.`);
    } catch (e) {
      if (e instanceof ApiError) {
        setError(e.detail);
        setErrors(Object.fromEntries(Object.entries(e.errors).map(([k, m]) => [k, m.join(" ")])));
      } else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };

  const admin = session.role === "admin";
  return (
    <>
      <h1>Benutzer</h1>
      {done && <p class="notice" role="status">{done}</p>}
      {users === null ? <p>Wird geladen …</p> : (
        <table class="list">
          <caption class="visually-hidden">Benutzer der Organisation</caption>
          <thead><tr><th scope="col">Kurzname</th><th scope="col">Rolle</th><th scope="col">Status</th>
            {admin && <th scope="col">Aktionen</th>}</tr></thead>
          <tbody>
            {users.map((u) => (
              <tr>
                <td>{u.user_short}</td>
                <td>{ROLES[u.role] ?? u.role}</td>
                <td>{u.active ? "aktiv" : "deaktiviert"}{u.certified === false ? " (wartet auf Bestätigung)" : ""}</td>
                {admin && <td><UserActions session={session} user={u} onDone={(text, expect) => {
                  setDone(null);
                  void load((list) => list.some((x) => x.user_short === u.user_short && expect(x)))
                    .then(() => setDone(text));
                }} /></td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && (
        <form class="card" onSubmit={submit} noValidate aria-labelledby="add-user-title">
          <h2 id="add-user-title">Benutzer anlegen</h2>
          <p class="hint">Die neue Person gibt ihr Passwort hier selbst ein; es verlässt diesen Browser nicht.</p>
          <Field id="user_short" label="Kurzname des Benutzers" value={values.user_short ?? ""} required
            onInput={set("user_short")} error={shown("user_short")} />
          <Select id="role" label="Rolle" value={values.role} required onInput={set("role")}
            options={[["staff", "Mitarbeiter (Organisation, keine Sprechstunde)"], ["admin", "Administrator"]]} />
          <Field id="new-password" label="Passwort" type="password" value={values.password ?? ""} required
            autocomplete="new-password" onInput={set("password")} error={shown("password")} hint="8 bis 32 Zeichen." />
          <Field id="new-password-repeat" label="Passwort wiederholen" type="password" required
            autocomplete="new-password" value={values.password_repeat ?? ""} onInput={set("password_repeat")}
            error={shown("password_repeat")} />
          {error && <Alert>{error}</Alert>}
          {progress !== null && <Progress value={progress} label="Schlüssel werden abgeleitet …" />}
          <div class="actions"><button type="submit" disabled={progress !== null}>Benutzer anlegen</button></div>
        </form>
      )}
      {admin && <InviteUser session={session} onInvited={(invited) => void load(invited)} />}
      <OwnPassword session={session} />
      <MasterPassword session={session} />
    </>
  );
}
