// The patient's way after the code form: the code is checked (Argon2id in a Worker, with progress), the
// appointment's time shown, consent given, camera/microphone/network/TURN checked, then the waiting room and
// the call. Loaded only once a code has been entered: it brings libsodium and the WebRTC code.
import { useEffect, useRef, useState } from "preact/hooks";
import { CallView } from "../call/CallView";
import { type CallKeys, deriveCallKeys } from "../call/derive";
import { type CheckResult, openMedia, turnReachable, watchLevel } from "../call/precheck";
import { CallFailure, CallSession } from "../call/session";
import { toHex } from "../protocol/bytes";
import { errorKey, type Key } from "./i18n";
import type { T } from "./main";

interface Appointment {
  role: string;
  appointment_id: string;
  starts_at: string;
  ends_at: string;
  consented?: boolean; // false: the patient consents here before the waiting room (Art. 9 DSGVO)
  practice?: string; // the practice's name as registered: the patient sees who invites
}

const ZONE = "Europe/Berlin";

function when(iso: string, lang: string): { date: string; time: string } {
  const moment = new Date(iso);
  return {
    date: new Intl.DateTimeFormat(lang, { timeZone: ZONE, weekday: "long", day: "numeric", month: "long",
      year: "numeric" }).format(moment),
    time: new Intl.DateTimeFormat(lang, { timeZone: ZONE, hour: "2-digit", minute: "2-digit" }).format(moment),
  };
}

function Check({ label, result, t }: { label: string; result: CheckResult; t: T }) {
  const text = t(result === "ok" ? "check.ok" : result === "failed" ? "check.failed" : "check.running");
  return <li data-result={result}><strong>{label}:</strong> {text}</li>;
}

function Preview({ stream, label }: { stream: MediaStream; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    ref.current!.srcObject = stream;
  }, [stream]);
  return <video ref={ref} class="preview" autoplay playsinline muted aria-label={label} />;
}

type Step = "deriving" | "ready" | "call";

export function Flow({ code, callCode, t, lang, onRestart }: {
  code: string; callCode: string | null; t: T; lang: string; onRestart: (errorKey: Key) => void;
}) {
  const [step, setStep] = useState<Step>("deriving");
  const [progress, setProgress] = useState(0);
  const [keys, setKeys] = useState<CallKeys | null>(null);
  const [appointment, setAppointment] = useState<Appointment | null>(null);
  const [session, setSession] = useState<CallSession | null>(null);
  const [consent, setConsent] = useState(false);
  const [consentError, setConsentError] = useState(false);
  const [media, setMedia] = useState<{ stream: MediaStream; camera: boolean; microphone: boolean } | null>(null);
  const [level, setLevel] = useState(0);
  const [heard, setHeard] = useState(false);
  const [network, setNetwork] = useState<CheckResult>("running");
  const [turn, setTurn] = useState<CheckResult>("running");
  const [error, setError] = useState<string | null>(null);
  const [, setTick] = useState(0);
  const opening = useRef<ReturnType<typeof openMedia> | null>(null);

  // 1. derive the keys and learn the appointment (the server sees only the join token).
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const derived = await deriveCallKeys(code, callCode, setProgress);
      const response = await fetch("/api/v1/access-codes/check", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ join_token: toHex(derived.joinToken) }),
      }).catch(() => null);
      if (cancelled) return;
      if (response === null) return onRestart("advice.network");
      if (!response.ok) return onRestart(errorKey(response.status));
      setAppointment((await response.json()) as Appointment);
      setKeys(derived);
      setStep("ready");
    })();
    return () => { cancelled = true; };
  }, [code]);

  // 2. the pre-call check, while the patient reads and consents.
  useEffect(() => {
    if (step !== "ready" || !keys) return;
    let stop = () => undefined as void;
    const call = new CallSession({ joinToken: keys.joinToken, kCall: keys.kCall });
    setSession(call);
    opening.current = openMedia();
    void opening.current.then((opened) => {
      setMedia(opened);
      stop = watchLevel(opened.stream, (value) => {
        setLevel(value);
        if (value > 0.02) setHeard(true);
      });
    });
    void call.fetchIceServers().then(async (servers) => {
      setNetwork("ok");
      setTurn((await turnReachable(servers)) ? "ok" : "failed");
    }, (failure: CallFailure) => {
      setNetwork("failed");
      setTurn("failed");
      if (failure.code && failure.code !== 0) setError(t(errorKey(failure.code === 403 ? 4403 : failure.code)));
    });
    return () => stop();
  }, [step, keys]);

  useEffect(() => session?.onChange(() => setTick((n) => n + 1)), [session]);

  const enter = async (event: Event) => {
    event.preventDefault();
    const mustConsent = appointment?.role === "patient" && !appointment.consented;
    if (mustConsent && !consent) {
      setConsentError(true);
      return;
    }
    try {
      if (mustConsent) {
        // Recorded with the join token (how and when); the server admits no patient without it.
        const response = await fetch("/api/v1/access-codes/consent", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ join_token: toHex(keys!.joinToken) }),
        }).catch(() => null);
        if (response === null) return setError(t("advice.network"));
        if (!response.ok) return setError(t(errorKey(response.status)));
        setAppointment((await response.json()) as Appointment);
      }
      // Entered before camera and microphone were open (a quick click): the call waits for them rather than
      // start without picture and sound.
      const opened = media ?? await opening.current;
      await session!.start(opened?.stream ?? null);
      setStep("call");
    } catch (failure) {
      setError(t(errorKey((failure as CallFailure).code)));
    }
  };

  if (step === "deriving") {
    return (
      <div class="card" role="status">
        <p>{t("deriving")}</p>
        <progress max={1} value={progress} aria-label={t("deriving")} />
      </div>
    );
  }

  if (step === "call" && session) {
    const start = appointment ? when(appointment.starts_at, lang) : null;
    if (session.state === "waiting") {
      return (
        <section class="card waiting-room" aria-labelledby="waiting-title">
          <h1 id="waiting-title">{t("waiting.title")}</h1>
          {start && <p class="starts">{t("waiting.starts", start)}</p>}
          <p>{t("waiting.text")}</p>
          {media && <Preview stream={media.stream} label={t("preview.own")} />}
        </section>
      );
    }
    if (session.state === "ended") return <p class="notice" role="status">{t("ended")}</p>;
    if (session.state === "failed") return <p class="alert" role="alert">{session.error}</p>;
    return (
      <>
        <h1>{t("call.title")}</h1>
        <CallView session={session} t={t} />
      </>
    );
  }

  const start = appointment ? when(appointment.starts_at, lang) : null;
  const end = appointment ? when(appointment.ends_at, lang) : null;
  const micResult: CheckResult = !media ? "running" : !media.microphone ? "failed" : heard ? "ok" : "running";
  return (
    <form onSubmit={enter} noValidate>
      <div class="card">
        <h1>{t("appointment.title")}</h1>
        {start && end && (
          <dl class="summary">
            {appointment?.practice && <><dt>{t("appointment.practice")}</dt><dd>{appointment.practice}</dd></>}
            <dt>{t("appointment.when")}</dt><dd>{start.date}, {start.time}</dd>
            <dt>{t("appointment.until")}</dt><dd>{end.time}</dd>
          </dl>
        )}
      </div>
      <div class="card">
        <h2>{t("check.title")}</h2>
        <p>{t("check.intro")}</p>
        {media && media.camera && <Preview stream={media.stream} label={t("preview.own")} />}
        <div class="meter-row">
          <span id="level-label">{t("check.level")}</span>
          <meter min={0} max={1} value={level} aria-labelledby="level-label" />
        </div>
        <ul class="checks">
          <Check label={t("check.camera")} result={!media ? "running" : media.camera ? "ok" : "failed"} t={t} />
          <Check label={t("check.microphone")} result={micResult} t={t} />
          <Check label={t("check.network")} result={network} t={t} />
          <Check label={t("check.turn")} result={turn} t={t} />
        </ul>
        {media && !media.camera && <p class="hint advice">{t("advice.camera")}</p>}
        {media && !media.microphone && <p class="hint advice">{t("advice.microphone")}</p>}
        {media && media.microphone && !heard && <p class="hint advice">{t("advice.silent")}</p>}
        {network === "failed" && <p class="hint advice">{t("advice.network")}</p>}
        {network === "ok" && turn === "failed" && <p class="hint advice">{t("advice.turn")}</p>}
      </div>
      {appointment?.role === "patient" && !appointment.consented && <div class="card">
        <h2>{t("consent.title")}</h2>
        <label>
          <input type="checkbox" checked={consent} aria-invalid={consentError && !consent ? "true" : "false"}
            onChange={(e) => { setConsent((e.currentTarget as HTMLInputElement).checked); setConsentError(false); }} />
          {t("consent.text")}
        </label>
        {consentError && !consent && <p class="field-error" role="alert">{t("consent.required")}</p>}
      </div>}
      {error && <p class="alert" role="alert">{error}</p>}
      <div class="actions"><button type="submit">{t("enter")}</button></div>
    </form>
  );
}
