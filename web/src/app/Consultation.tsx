// The practice's call screen (/sprechstunde/<appointment id>): joins with the practitioner code from the
// encrypted record and the admin's session, lists who waits and since when, admits or sends back, and shows
// the call itself (the same CallView as the patient page, in German).
import { useEffect, useState } from "preact/hooks";
import { CallView } from "../call/CallView";
import { deriveCallKeys } from "../call/derive";
import { openMedia } from "../call/precheck";
import { CallFailure, CallSession } from "../call/session";
import { errorKey, type Key, translate } from "../join/i18n";
import { currentToken } from "./api";
import { berlinTime } from "./berlin";
import type { Session } from "./client";
import { consultationAppointment, consultationCodes } from "./consultation";

const t = (key: Key) => translate("de", key);

export function ConsultationPage({ session, appointmentId }: { session: Session; appointmentId: string }) {
  const [call, setCall] = useState<CallSession | null>(null);
  const [progress, setProgress] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [, setTick] = useState(0);

  useEffect(() => {
    let active: CallSession | null = null;
    let cancelled = false;
    void (async () => {
      try {
        const appointment = await consultationAppointment(session, appointmentId);
        const { code, callCode } = consultationCodes(appointment);
        const keys = await deriveCallKeys(code, callCode, setProgress);
        if (cancelled) return;
        active = new CallSession({ ...keys, session: currentToken() ?? undefined });
        const media = await openMedia();
        await active.start(media.stream);
        if (cancelled) {
          active.leave();
          return;
        }
        setCall(active);
      } catch (failure) {
        const code = (failure as CallFailure).code;
        setError(failure instanceof CallFailure && failure.message ? failure.message
          : code ? t(errorKey(code)) : (failure as Error).message);
      }
    })();
    return () => {
      cancelled = true;
      active?.leave();
    };
  }, [appointmentId]);

  useEffect(() => call?.onChange(() => setTick((n) => n + 1)), [call]);
  // The waiting times ("seit … Minuten") move on by themselves.
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), 15000);
    return () => clearInterval(timer);
  }, []);

  if (error) return <><h1>Sprechstunde</h1><p class="alert" role="alert">{error}</p></>;
  if (!call) {
    return (
      <>
        <h1>Sprechstunde</h1>
        <div class="card" role="status">
          <p>Die Sprechstunde wird vorbereitet …</p>
          <progress max={1} value={progress} aria-label="Sprechstunde wird vorbereitet" />
        </div>
      </>
    );
  }
  const patients = [...call.links.values()].filter((link) => link.role === "patient");
  return (
    <>
      <h1>Sprechstunde</h1>
      <section class="card" aria-labelledby="waiting-heading">
        <h2 id="waiting-heading">Warteraum</h2>
        {call.waiting.length === 0
          ? <p class="hint">Niemand wartet.</p>
          : (
            <ul class="waiting-list">
              {call.waiting.map((w) => {
                const minutes = Math.max(0, Math.floor((Date.now() / 1000 - w.since) / 60));
                return (
                  <li key={w.peer_id} data-peer={w.peer_id}>
                    Patient/in wartet seit {berlinTime.format(new Date(w.since * 1000))} Uhr ({minutes} Min.)
                    {!w.connected && " – Verbindung unterbrochen"}{" "}
                    <button type="button" onClick={() => call.admit(w.peer_id)}>Hereinholen</button>
                  </li>
                );
              })}
            </ul>
          )}
        {patients.map((link) => (
          <p key={link.peerId}>
            <button type="button" class="secondary" onClick={() => call.sendBack(link.peerId)}>
              In den Warteraum zurückschicken</button>
          </p>
        ))}
      </section>
      {call.state === "ended" ? <p class="notice" role="status">{t("ended")}</p> : <CallView session={call} t={t} />}
    </>
  );
}
