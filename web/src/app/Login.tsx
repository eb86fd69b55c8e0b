// Login (SPEC §2): Kurzname der Organisation, Kurzname des Benutzers, Passwort — from an approved device.
// On a browser the organisation does not know yet: name the device, show the pairing code, wait for the
// approval on an approved device, and continue by itself once approved (design/crypto.md §4.4).
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import { enroll, type Enrollment, login, MSG_NO_DEVICE, MSG_WAITING, type Session, waitForApproval } from "./client";
import { Alert, Field, PairingCodeCard, Progress } from "./components";
import { loadDevice } from "./devicestore";
import { navigate } from "./router";
import { MSG_PASSWORD_TOO_LONG, required } from "./validation";
import { passwordLength } from "../protocol/primitives";
import { shortNameKey } from "../protocol/codes";

const message = (e: unknown) => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

export function LoginPage({ onLogin }: { onLogin: (session: Session) => void }) {
  const params = new URLSearchParams(location.search);
  const [org, setOrg] = useState(params.get("org") ?? "");
  const [user, setUser] = useState(params.get("user") ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [unknownBrowser, setUnknownBrowser] = useState(false);
  const [deviceName, setDeviceName] = useState("");
  const [nameTouched, setNameTouched] = useState(false);
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [waitingCode, setWaitingCode] = useState<string | null>(null);
  const tooLong = passwordLength(password) > 32 ? MSG_PASSWORD_TOO_LONG : null;
  const nameError = nameTouched ? required(64)(deviceName) : null;

  useEffect(() => {
    if (!enrollment) return;
    const abort = new AbortController();
    waitForApproval(org, user, enrollment, abort.signal).then(onLogin, (e) => {
      if (!abort.signal.aborted) {
        setEnrollment(null);
        setError(message(e));
      }
    });
    return () => abort.abort();
  }, [enrollment]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (tooLong) return;
    setError(null);
    setWaitingCode(null);
    setProgress(0);
    try {
      onLogin(await login(org, user, password, setProgress));
    } catch (e) {
      if (e instanceof ApiError && e.detail === MSG_NO_DEVICE) setUnknownBrowser(true);
      else if (e instanceof ApiError && e.detail === MSG_WAITING) {
        // Pending since an earlier visit: show the code again (it never left this browser).
        const stored = await loadDevice(shortNameKey(org) ?? "");
        setWaitingCode(stored?.secrets.pairingCode ?? null);
        setError(e.detail);
      } else setError(message(e));
    } finally {
      setProgress(null);
    }
  };

  const requestApproval = async (event: Event) => {
    event.preventDefault();
    setNameTouched(true);
    if (required(64)(deviceName)) return;
    setError(null);
    setProgress(0);
    try {
      setEnrollment(await enroll(org, user, password, deviceName.trim(), setProgress));
    } catch (e) {
      setError(message(e));
    } finally {
      setProgress(null);
    }
  };

  if (enrollment) {
    return (
      <PairingCodeCard code={enrollment.pairingCode}>
        <p>Lassen Sie diesen Code an einem bereits freigegebenen Gerät Ihrer Organisation unter
          „Stammdaten → Arbeitsplätze/Endgeräte“ eingeben (bei Bedarf am Telefon vorlesen). Der Code verlässt
          dieses Gerät nicht; der Server kennt ihn nicht.</p>
        <p role="status" aria-live="polite">Warte auf Freigabe … Sie werden danach automatisch angemeldet.</p>
        <p>Kein freigegebenes Gerät zur Hand? <a href={`/wiederherstellen?pending=1&org=${encodeURIComponent(org)}`}
          onClick={(e) => { e.preventDefault(); navigate(`/wiederherstellen?pending=1&org=${encodeURIComponent(org)}`); }}>
          Mit dem Masterpasswort freischalten</a></p>
      </PairingCodeCard>
    );
  }

  return (
    <>
      <h1>Anmelden</h1>
      <form class="card" onSubmit={unknownBrowser ? requestApproval : submit} noValidate>
        <Field id="org" label="Kurzname der Organisation" value={org} onInput={setOrg} required
          autocomplete="organization" />
        <Field id="user" label="Kurzname des Benutzers" value={user} onInput={setUser} required
          autocomplete="username" />
        <Field id="password" label="Passwort" type="password" value={password} onInput={setPassword} required
          autocomplete="current-password" error={tooLong} />
        {unknownBrowser && (
          <>
            <p class="notice" role="status">Dieser Browser ist für diese Organisation noch nicht freigeschaltet.
              Geben Sie ihm einen Namen und fordern Sie die Freischaltung an; ein freigegebenes Gerät Ihrer
              Organisation bestätigt sie mit dem Kopplungscode, der danach hier erscheint.</p>
            <Field id="device-name" label="Kurzname des Endgerätes" value={deviceName} required
              hint="Zum Beispiel „Empfang“ oder „Sprechzimmer 1“." error={nameError}
              onInput={(x) => { setDeviceName(x); setNameTouched(true); }} />
          </>
        )}
        {error && <Alert>{error}</Alert>}
        {waitingCode && <p>Kopplungscode dieses Geräts: <output id="pairing-code">{waitingCode}</output></p>}
        {progress !== null && <Progress value={progress} label="Schlüssel werden abgeleitet …" />}
        <div class="actions">
          <button type="submit" disabled={progress !== null}>
            {unknownBrowser ? "Freischaltung anfordern" : "Anmelden"}</button>
        </div>
      </form>
      <p>Noch kein Zugang? <a href="/registrierung" onClick={(e) => { e.preventDefault(); navigate("/registrierung"); }}>
        Praxis registrieren</a> · <a href="/einladung"
        onClick={(e) => { e.preventDefault(); navigate("/einladung"); }}>Einladung einlösen</a> · <a href="/wiederherstellen"
        onClick={(e) => { e.preventDefault(); navigate("/wiederherstellen"); }}>Zugang wiederherstellen</a> · <a href="/status" onClick={(e) => { e.preventDefault(); navigate("/status"); }}>
        Status des Dienstes</a></p>
    </>
  );
}
