// The call screen of both sides (issue 12 item 3): one tile per other party, the own picture, the controls,
// the path ("direkt" / "über TURN") and quality indicators, and the security warning when a description's
// MAC failed. Texts come from the caller's catalogue (the patient page's language, German in the practice).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Key } from "../join/i18n";
import { type CallSession, connectionPath, type PeerLink, type Quality, qualityLevel, QualityMeter } from "./session";

export type Translate = (key: Key) => string;

function Video({ stream, muted, label, id }: { stream: MediaStream; muted: boolean; label: string; id?: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current!;
    if (video.srcObject !== stream) video.srcObject = stream;
    void video.play().catch(() => undefined);
  }, [stream]);
  return <video ref={ref} id={id} autoplay playsinline muted={muted} aria-label={label} />;
}

function RemoteTile({ link, t }: { link: PeerLink; t: Translate }) {
  const [path, setPath] = useState<"direct" | "relayed" | null>(null);
  const [quality, setQuality] = useState<Quality | null>(null);
  const [, setTracks] = useState(0);
  useEffect(() => {
    const meter = new QualityMeter();
    const refresh = async () => {
      if (link.pc.connectionState === "closed") return;
      setPath(await connectionPath(link.pc));
      if (link.pc.connectionState === "connected") setQuality(qualityLevel(await meter.sample(link.pc)));
      setTracks(link.stream.getTracks().length);
    };
    const timer = setInterval(() => void refresh(), 1000);
    void refresh();
    return () => clearInterval(timer);
  }, [link]);
  // A second video track is a screen share: shown in its own element. Its stream is made once per track (a
  // new srcObject on every render would restart the element).
  const shared = link.stream.getVideoTracks()[1] ?? null;
  const screen = useMemo(() => (shared ? new MediaStream([shared]) : null), [shared]);
  return (
    <figure class="tile" data-peer={link.peerId} data-role={link.role} data-state={link.pc.connectionState}>
      {/* The element is made once the first track has arrived, so it starts playing with media. */}
      {link.stream.getTracks().length > 0
        ? <Video stream={link.stream} muted={false} label={t("call.remote")} />
        : <p class="hint">{t("call.connecting")}</p>}
      {screen && <Video stream={screen} muted label={t("call.screen")} />}
      <figcaption>
        <span class="path" data-path={path ?? ""}>{t("path.label")}: {path ? t(path === "direct" ? "path.direct" : "path.relayed") : "…"}</span>
        {" · "}
        <span class="quality" data-quality={quality ?? ""}>{t("quality.label")}: {quality ? t(`quality.${quality}` as Key) : "…"}</span>
        {quality === "poor" && <span class="hint" role="status"> {t("quality.hint")}</span>}
      </figcaption>
    </figure>
  );
}

export function CallView({ session, t, onLeave }: { session: CallSession; t: Translate; onLeave?: () => void }) {
  const [, setTick] = useState(0);
  const [muted, setMuted] = useState(false);
  const [cameraOff, setCameraOff] = useState(false);
  const [hideSelf, setHideSelf] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const stage = useRef<HTMLDivElement>(null);
  useEffect(() => session.onChange(() => {
    setTick((n) => n + 1);
    if (session.notice) {
      setNotice(session.notice);
      session.notice = null;
    }
  }), [session]);

  if (session.state === "tampered") {
    return (
      <div class="alert security" role="alert">
        <h2>{t("security.title")}</h2>
        <p>{t(session.tamperedBy === "remote" ? "security.remote" : "security.local")}</p>
      </div>
    );
  }

  const share = async () => {
    if (session.screenTrack) {
      await session.stopScreenShare(true);
      return;
    }
    if (!session.welcome?.screen_sharing) {
      setNotice(t("share.refused")); // the plan's message, as the server would answer
      return;
    }
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true });
      await session.startScreenShare(display.getVideoTracks()[0]);
    } catch { /* the user cancelled the picker */ }
  };

  const links = [...session.links.values()];
  return (
    <section class="call" aria-label={t("call.title")}>
      {session.state === "reconnecting" && <p class="notice" role="status">{t("reconnecting")}</p>}
      {notice && <p class="notice" role="status">{notice}</p>}
      <div class="stage" ref={stage} data-tiles={links.length}>
        {links.length === 0 && <p class="hint">{t("call.connecting")}</p>}
        {links.map((link) => <RemoteTile key={link.peerId} link={link} t={t} />)}
        {session.localStream && !hideSelf && (
          <figure class="tile self"><Video stream={session.localStream} muted label={t("preview.own")} /></figure>
        )}
      </div>
      <div class="actions call-controls">
        <button type="button" class="secondary" aria-pressed={muted}
          onClick={() => { session.setMuted(!muted); setMuted(!muted); }}>{t(muted ? "call.unmute" : "call.mute")}</button>
        <button type="button" class="secondary" aria-pressed={cameraOff}
          onClick={() => { session.setCameraOff(!cameraOff); setCameraOff(!cameraOff); }}>
          {t(cameraOff ? "call.cameraOn" : "call.cameraOff")}</button>
        <button type="button" class="secondary" aria-pressed={hideSelf} onClick={() => setHideSelf(!hideSelf)}>
          {t(hideSelf ? "call.showSelf" : "call.hideSelf")}</button>
        <button type="button" class="secondary" onClick={() => void stage.current?.requestFullscreen?.()}>
          {t("call.fullscreen")}</button>
        <button type="button" class="secondary" onClick={() => void share()}>
          {t(session.screenTrack ? "call.stopShare" : "call.share")}</button>
        <button type="button" onClick={() => { session.leave(); onLeave?.(); }}>{t("call.leave")}</button>
      </div>
    </section>
  );
}
