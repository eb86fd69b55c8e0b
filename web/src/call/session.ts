// The browser's side of a consultation (docs/calls.md, design/webrtc.md): signalling over /ws/v1/calls,
// one RTCPeerConnection per other party (a mesh in conferences) with trickle ICE both ways, and the
// signalling proof of design/crypto.md §4.10a: every description is MACed with k_call, and a description
// whose MAC fails is never applied. Mirrors interfaces/client/call.py, the reference client.
import { fromHex, toHex } from "../protocol/bytes";
import { descriptionMac } from "../protocol/calls";

export const MSG_TAMPERED = "Die Verbindung wurde aus Sicherheitsgründen beendet: Die Gegenstelle konnte nicht "
  + "bestätigt werden (Signalisierung verändert?).";
export const MSG_REMOTE_TAMPERED = "Die Gegenstelle hat die Verbindung aus Sicherheitsgründen beendet: Ihre "
  + "Verbindungsdaten kamen verändert an.";

const RECONNECT_MAX_MS = 5000;
// ICE "disconnected" often heals by itself (a lost packet burst); longer than this it is a network change.
const DISCONNECTED_RESTART_MS = 3000;
// The server is up but its signalling store is not yet (4503), or it restarts (1011–1013): try again.
const RETRY_CODES = new Set([4503, 1011, 1012, 1013]);

export type CallState = "new" | "waiting" | "admitted" | "reconnecting" | "tampered" | "ended" | "failed";

export interface Peer {
  peer_id: string;
  role: string;
}

export interface Waiting {
  peer_id: string;
  since: number;
  connected: boolean;
}

export interface Welcome {
  peer_id: string;
  role: string;
  state: "waiting" | "admitted";
  starts_at: string;
  ends_at: string;
  appointment_id: string;
  conference: boolean;
  screen_sharing: boolean;
  max_participants: number;
  peers: Peer[];
  waiting?: Waiting[];
  resume_token?: string;
  heartbeat_seconds: number;
  resumed: boolean;
}

type Message = Record<string, unknown> & { type: string };

export class CallFailure extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}

/** One connection to another party. */
export class PeerLink {
  readonly stream = new MediaStream();
  private early: (RTCIceCandidateInit | null)[] = [];
  private described = false; // our description went out: candidates may follow it (§8a.8)
  private pendingLocal: (RTCIceCandidateInit | null)[] = [];
  makingOffer = false; // our offer is being made: an offer arriving now collides with it (glare)
  restartTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly peerId: string, readonly role: string, readonly pc: RTCPeerConnection,
    private readonly send: (m: Message) => void, private readonly onTrack: () => void) {
    pc.onicecandidate = (event) => {
      const init = event.candidate ? event.candidate.toJSON() : null;
      if (this.described) this.sendCandidate(init);
      else this.pendingLocal.push(init);
    };
    pc.ontrack = (event) => {
      if (!this.stream.getTracks().includes(event.track)) this.stream.addTrack(event.track);
      // A stopped screen share leaves the sender's stream: the tile drops its second picture.
      event.streams.forEach((remote) => {
        remote.onremovetrack = (removed) => {
          this.stream.removeTrack(removed.track);
          this.onTrack();
        };
      });
      this.onTrack();
    };
  }

  private sendCandidate(init: RTCIceCandidateInit | null) {
    this.send({ type: "candidate", to: this.peerId, candidate: init });
  }

  /** Our description has been sent: flush the candidates gathered meanwhile. */
  describedNow() {
    this.described = true;
    const pending = this.pendingLocal;
    this.pendingLocal = [];
    pending.forEach((c) => this.sendCandidate(c));
  }

  async addRemoteCandidate(init: RTCIceCandidateInit | null) {
    if (!this.pc.remoteDescription) {
      this.early.push(init);
      return;
    }
    if (init === null || !init.candidate) {
      await this.pc.addIceCandidate(); // end of candidates
      return;
    }
    // A candidate of an earlier ICE generation (before a restart) is ignored.
    const ufrags = [...this.pc.remoteDescription.sdp.matchAll(/^a=ice-ufrag:(.+?)\s*$/gm)].map((m) => m[1]);
    if (init.usernameFragment && !ufrags.includes(init.usernameFragment)) return;
    await this.pc.addIceCandidate(init);
  }

  async applyEarly() {
    const pending = this.early;
    this.early = [];
    for (const init of pending) await this.addRemoteCandidate(init);
  }

  close() {
    clearTimeout(this.restartTimer);
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.close();
  }
}

export interface CallOptions {
  joinToken: Uint8Array;
  kCall: Uint8Array;
  session?: string; // the admin's session: only with the practitioner code (§8a.7)
  relayOnly?: boolean;
  signallingUrl?: string;
  fetchImpl?: typeof fetch;
}

type Listener = () => void;

/** A consultation in progress. Observers subscribe with `onChange` and read the public fields. */
export class CallSession {
  state: CallState = "new";
  welcome: Welcome | null = null;
  waiting: Waiting[] = [];
  links = new Map<string, PeerLink>();
  localStream: MediaStream | null = null;
  screenTrack: MediaStreamTrack | null = null;
  private screenStream: MediaStream | null = null; // its own stream, so the other side tells it from the camera
  error: string | null = null;
  tamperedBy: "local" | "remote" | null = null; // who refused a description whose MAC failed
  notice: string | null = null; // a refusal or a peer event to show, not fatal
  iceServers: RTCIceServer[] = [];

  private ws: WebSocket | null = null;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private closing = false;
  private listeners = new Set<Listener>();
  private readonly signallingUrl: string;
  private readonly joinHex: string;
  private restartPending = false; // the network changed while the socket was down: restart ICE once it is back
  private readonly onNetworkChange = () => this.networkChanged();

  constructor(private readonly options: CallOptions) {
    this.joinHex = toHex(options.joinToken);
    this.signallingUrl = options.signallingUrl
      ?? `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/v1/calls`;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed() {
    this.listeners.forEach((l) => l());
  }

  /** STUN/TURN for this call; authorised by the join token (and the admin's session for the practitioner). */
  async fetchIceServers(): Promise<RTCIceServer[]> {
    const headers: Record<string, string> = { "X-Join-Token": this.joinHex };
    if (this.options.session) headers.Authorization = `Bearer ${this.options.session}`;
    const response = await (this.options.fetchImpl ?? fetch)("/api/v1/calls/ice-servers", { headers });
    if (!response.ok) {
      let detail = "";
      try {
        detail = ((await response.json()) as { detail?: string }).detail ?? "";
      } catch { /* not JSON */ }
      throw new CallFailure(detail || "Die Verbindungsdaten konnten nicht abgerufen werden.", response.status);
    }
    const body = (await response.json()) as { ice_servers: RTCIceServer[] };
    this.iceServers = body.ice_servers;
    return this.iceServers;
  }

  /** Fetch ICE servers (unless done), join, and resolve with the welcome (possibly in the waiting room). */
  async start(localStream: MediaStream | null): Promise<Welcome> {
    this.localStream = localStream;
    if (!this.iceServers.length) await this.fetchIceServers();
    // A new network (Wi-Fi to mobile, a VPN, a cable plugged in): the old ICE paths may be gone.
    window.addEventListener("online", this.onNetworkChange);
    networkInformation()?.addEventListener("change", this.onNetworkChange);
    const welcome = await this.connect(null);
    return welcome;
  }

  private connect(resume: { peer_id: string; resume_token: string } | null): Promise<Welcome> {
    return new Promise<Welcome>((resolve, reject) => {
      const ws = new WebSocket(this.signallingUrl);
      let welcomed = false;
      ws.onopen = () => {
        const hello: Message = { type: "join", token: this.joinHex };
        if (this.options.session) hello.session = this.options.session;
        if (resume) Object.assign(hello, resume);
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (event) => {
        let message: Message;
        try {
          message = JSON.parse(String(event.data)) as Message;
        } catch {
          return;
        }
        if (!welcomed) {
          if (message.type === "error") {
            reject(new CallFailure(String(message.detail ?? ""), Number(message.code)));
            ws.close();
            return;
          }
          welcomed = true;
          this.ws = ws;
          this.onWelcome(message as unknown as Welcome, resume !== null);
          resolve(this.welcome!);
          return;
        }
        this.dispatch(message).catch((error) => console.warn("signalling message failed", error));
      };
      ws.onclose = (event) => {
        if (!welcomed) {
          reject(new CallFailure(event.reason || "Die Verbindung zum Server ist nicht zustande gekommen.",
            event.code));
          return;
        }
        if (this.ws === ws) this.lostSocket(event.code);
      };
    });
  }

  private onWelcome(message: Welcome, resumed: boolean) {
    const token = this.welcome?.resume_token;
    this.welcome = message;
    if (token && !message.resume_token) this.welcome.resume_token = token;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.send({ type: "ping" }), (message.heartbeat_seconds || 10) * 1000);
    if (message.waiting) this.waiting = message.waiting;
    if (message.state === "waiting") {
      this.closeLinks();
      this.setState("waiting");
    } else {
      this.setState("admitted");
      // A fresh join that finds others in the room (a reloaded page) offers to them, as a newly admitted
      // party does; after a resume the existing connections go on.
      if (!resumed) void this.offerTo(message.peers);
    }
  }

  /** The signalling socket dropped: media goes on peer-to-peer; re-join the same place with the resume token. */
  private async lostSocket(code: number) {
    this.ws = null;
    clearInterval(this.heartbeat);
    if (this.closing || this.state === "tampered") return;
    const before = this.state;
    this.setState("reconnecting");
    for (let attempt = 0; !this.closing; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, RECONNECT_MAX_MS)));
      if (this.closing) return;
      try {
        await this.connect({ peer_id: this.welcome!.peer_id, resume_token: this.welcome!.resume_token! });
        // ICE may have lost its path too (a network change): restart it where it did, or everywhere when the
        // browser reported a new network meanwhile.
        const all = this.restartPending;
        this.restartPending = false;
        this.links.forEach((link) => {
          const state = link.pc.iceConnectionState;
          if (all || state === "disconnected" || state === "failed") void this.restartIce(link);
        });
        return;
      } catch (error) {
        const failure = error as CallFailure;
        if (failure.code !== undefined && !RETRY_CODES.has(failure.code) && failure.code >= 4000) {
          this.fail(failure.message || "Die Verbindung zur Sprechstunde ist verloren gegangen.");
          return;
        }
      }
      void before;
    }
    void code;
  }

  send(message: Message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private get socketOpen(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** The browser reports a network change: a new ICE generation on every connection, so media finds the new
   *  path (the old candidates belong to the old network). Without a socket the restart offer could not go
   *  out: it waits for the resume. */
  networkChanged() {
    if (this.state !== "admitted" && this.state !== "reconnecting") return;
    if (!this.socketOpen) {
      this.restartPending = true;
      return;
    }
    this.links.forEach((link) => void this.restartIce(link));
  }

  /** ICE restart (RFC 8445 §9) on one connection: new ufrag and password, new candidates, the same DTLS and
   *  media; the MACed description carries the new ufrag. */
  private async restartIce(link: PeerLink) {
    if (this.links.get(link.peerId) !== link || link.pc.signalingState === "closed") return;
    if (!this.socketOpen) {
      this.restartPending = true;
      return;
    }
    link.pc.restartIce();
    await this.offer(link, "renegotiate", true);
  }

  admit(peerId: string) {
    this.send({ type: "admit", peer: peerId });
  }

  sendBack(peerId: string) {
    this.send({ type: "send-back", peer: peerId });
  }

  private async dispatch(message: Message) {
    switch (message.type) {
      case "offer":
      case "renegotiate":
        await this.onOffer(message);
        break;
      case "answer":
        await this.onAnswer(message);
        break;
      case "candidate": {
        const link = this.links.get(String(message.from));
        const candidate = message.candidate as RTCIceCandidateInit | null | undefined;
        if (link && (candidate === null || typeof candidate === "object")) {
          await link.addRemoteCandidate(candidate ?? null);
        }
        break;
      }
      case "bye": {
        const link = this.links.get(String(message.from));
        if (link) this.closeLink(link);
        if (message.reason === "sdp-mac") this.tampered(MSG_REMOTE_TAMPERED, "remote");
        break;
      }
      case "admitted":
        this.setState("admitted");
        await this.offerTo((message.peers as Peer[]) ?? []);
        break;
      case "sent-back":
        this.closeLinks();
        this.setState("waiting");
        break;
      case "waiting-room":
        this.waiting = (message.waiting as Waiting[]) ?? [];
        break;
      case "peer-left": {
        const link = this.links.get(String(message.peer_id));
        if (link) this.closeLink(link);
        if (message.reason === "gone") this.notice = "Die Gegenstelle ist nicht zurückgekehrt.";
        break;
      }
      case "sync":
        if (message.state === "admitted" && this.state === "waiting") {
          this.setState("admitted");
          await this.offerTo((message.peers as Peer[]) ?? []);
        } else if (message.state === "waiting" && this.state !== "waiting") {
          this.closeLinks();
          this.setState("waiting");
        }
        if (Array.isArray(message.waiting)) this.waiting = message.waiting as Waiting[];
        break;
      case "refused":
      case "dropped":
        this.notice = String(message.detail ?? "");
        if (message.feature === "screen_sharing") await this.stopScreenShare(false);
        break;
      default:
        break;
    }
    this.changed();
  }

  // --- media --------------------------------------------------------------------------------------

  private label(sender: string, receiver: string): string {
    const w = this.welcome!;
    return w.conference ? `${w.appointment_id}:${sender}:${receiver}` : w.appointment_id;
  }

  private newLink(peerId: string, role: string): PeerLink {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      iceTransportPolicy: this.options.relayOnly ? "relay" : "all",
    });
    const link = new PeerLink(peerId, role, pc, (m) => this.send(m), () => this.changed());
    this.links.set(peerId, link);
    this.localStream?.getTracks().forEach((track) => pc.addTrack(track, this.localStream!));
    if (this.screenTrack && this.screenStream) pc.addTrack(this.screenTrack, this.screenStream);
    pc.onconnectionstatechange = () => this.changed();
    pc.oniceconnectionstatechange = () => {
      // The path is gone (a network change on either side): a new ICE generation. "failed" at once,
      // "disconnected" only when it does not heal by itself. Both sides may start it; offers that cross are
      // settled in onOffer (the polite side gives way).
      clearTimeout(link.restartTimer);
      if (pc.iceConnectionState === "failed") void this.restartIce(link);
      else if (pc.iceConnectionState === "disconnected") {
        link.restartTimer = setTimeout(() => {
          if (pc.iceConnectionState === "disconnected") void this.restartIce(link);
        }, DISCONNECTED_RESTART_MS);
      }
      this.changed();
    };
    return link;
  }

  private async offerTo(peers: Peer[]) {
    for (const peer of peers) {
      if (this.links.has(peer.peer_id)) continue;
      const link = this.newLink(peer.peer_id, peer.role);
      // Without a camera or microphone (none, refused, or not yet open) the offer still asks for the other's
      // picture and sound: a party that only watches is a valid caller, and an offer without any media
      // section would carry no fingerprint to MAC.
      const stream = this.localStream;
      if (!stream?.getAudioTracks().length) link.pc.addTransceiver("audio", { direction: "recvonly" });
      if (!stream?.getVideoTracks().length) link.pc.addTransceiver("video", { direction: "recvonly" });
      await this.offer(link, "offer");
    }
  }

  private async offer(link: PeerLink, kind: "offer" | "renegotiate", iceRestart = false) {
    link.makingOffer = true;
    try {
      const offer = await link.pc.createOffer({ iceRestart });
      await link.pc.setLocalDescription(offer);
      this.sendDescription(link, kind, iceRestart);
    } finally {
      link.makingOffer = false;
    }
  }

  private sendDescription(link: PeerLink, kind: string, iceRestart = false) {
    const sdp = link.pc.localDescription!.sdp;
    const w = this.welcome!;
    const mac = descriptionMac(this.options.kCall, this.label(w.peer_id, link.peerId), w.role, sdp);
    if (!mac) throw new CallFailure(MSG_TAMPERED);
    const message: Message = { type: kind, to: link.peerId, sdp, mac: toHex(mac) };
    if (iceRestart) message.ice_restart = true;
    this.send(message);
    link.describedNow();
  }

  /** The MAC of a received description, checked before setRemoteDescription: a forged fingerprint is never
   *  applied. */
  private verified(message: Message): boolean {
    const sdp = message.sdp;
    const mac = message.mac;
    if (typeof sdp !== "string" || typeof mac !== "string" || !/^[0-9a-f]{64}$/i.test(mac)) return false;
    const expected = descriptionMac(this.options.kCall, this.label(String(message.from), this.welcome!.peer_id),
      String(message.role), sdp);
    if (!expected) return false;
    const given = fromHex(mac.toLowerCase());
    let diff = expected.length ^ given.length;
    for (let i = 0; i < Math.min(expected.length, given.length); i++) diff |= expected[i] ^ given[i];
    return diff === 0;
  }

  private refuseTampered(message: Message) {
    this.send({ type: "bye", to: message.from, reason: "sdp-mac" });
    this.tampered(MSG_TAMPERED, "local");
  }

  private async onOffer(message: Message) {
    if (this.state === "tampered") return;
    if (!this.verified(message)) {
      this.refuseTampered(message);
      return;
    }
    const peerId = String(message.from);
    const link = this.links.get(peerId) ?? this.newLink(peerId, String(message.role));
    // Two offers crossed (both sides restarted ICE, or shared the screen, at once): the side with the smaller
    // peer id is polite and takes the other's offer (setRemoteDescription rolls its own back); the other
    // ignores the offer it got and waits for the answer to its own ("perfect negotiation", W3C WebRTC §10.7).
    const collision = link.makingOffer || link.pc.signalingState !== "stable";
    const polite = this.welcome!.peer_id < peerId;
    if (collision && !polite) return;
    await link.pc.setRemoteDescription({ type: "offer", sdp: String(message.sdp) });
    await link.applyEarly();
    await link.pc.setLocalDescription(await link.pc.createAnswer());
    this.sendDescription(link, "answer");
  }

  private async onAnswer(message: Message) {
    const link = this.links.get(String(message.from));
    if (!link || this.state === "tampered") return;
    if (!this.verified(message)) {
      this.refuseTampered(message);
      return;
    }
    await link.pc.setRemoteDescription({ type: "answer", sdp: String(message.sdp) });
    await link.applyEarly();
  }

  // --- controls -----------------------------------------------------------------------------------

  setMuted(muted: boolean) {
    this.localStream?.getAudioTracks().forEach((t) => { t.enabled = !muted; });
    this.changed();
  }

  setCameraOff(off: boolean) {
    this.localStream?.getVideoTracks().forEach((t) => { t.enabled = !off; });
    this.changed();
  }

  /** A screen share: a second video track on every connection (plus only; the server refuses it on basis). */
  async startScreenShare(track: MediaStreamTrack) {
    this.screenTrack = track;
    this.screenStream = new MediaStream([track]);
    track.onended = () => void this.stopScreenShare(true);
    for (const link of this.links.values()) {
      link.pc.addTrack(track, this.screenStream);
      await this.offer(link, "renegotiate");
    }
    this.changed();
  }

  async stopScreenShare(renegotiate: boolean) {
    const track = this.screenTrack;
    if (!track) return;
    this.screenTrack = null;
    this.screenStream = null;
    track.stop();
    for (const link of this.links.values()) {
      // Refused by the server (basis plan): the offer never reached the peer, so it is taken back.
      if (!renegotiate && link.pc.signalingState === "have-local-offer") {
        await link.pc.setLocalDescription({ type: "rollback" });
      }
      const sender = link.pc.getSenders().find((s) => s.track === track);
      if (sender) link.pc.removeTrack(sender);
      if (renegotiate) await this.offer(link, "renegotiate");
    }
    this.changed();
  }

  /** Drops the signalling socket without a goodbye (the reconnect path; tests). */
  dropSocket() {
    this.ws?.close();
  }

  private closeLink(link: PeerLink) {
    if (this.links.get(link.peerId) === link) this.links.delete(link.peerId);
    link.close();
  }

  private closeLinks() {
    [...this.links.values()].forEach((l) => this.closeLink(l));
  }

  private tampered(reason: string, by: "local" | "remote") {
    this.error = reason;
    this.tamperedBy = by;
    this.closeLinks();
    this.setState("tampered");
  }

  private fail(reason: string) {
    this.error = reason;
    this.closeLinks();
    this.setState("failed");
  }

  private setState(state: CallState) {
    this.state = state;
    this.changed();
  }

  leave() {
    this.closing = true;
    window.removeEventListener("online", this.onNetworkChange);
    networkInformation()?.removeEventListener("change", this.onNetworkChange);
    this.send({ type: "leave" });
    clearInterval(this.heartbeat);
    this.ws?.close();
    this.ws = null;
    this.closeLinks();
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.screenTrack?.stop();
    this.setState("ended");
  }
}

/** The Network Information API (Chromium): "change" fires when the connection type changes. Not in every
 *  browser, nor in TypeScript's DOM types. */
function networkInformation(): EventTarget | null {
  return (navigator as Navigator & { connection?: EventTarget }).connection ?? null;
}

/** "direct" or "relayed" for the nominated candidate pair of a connection; null before it connects. */
export async function connectionPath(pc: RTCPeerConnection): Promise<"direct" | "relayed" | null> {
  const stats = await pc.getStats();
  let pairId: string | undefined;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId ? stats.get(pairId) : undefined;
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  return local?.candidateType === "relay" || remote?.candidateType === "relay" ? "relayed" : "direct";
}

export type Quality = "good" | "fair" | "poor";

export interface QualitySample {
  rttMs: number | null;
  loss: number; // fraction of packets lost since the previous sample
  kbps: number;
  height: number | null;
}

/** Three levels from round-trip time, loss and the received bitrate (design/webrtc.md). */
export function qualityLevel(sample: QualitySample): Quality {
  const rtt = sample.rttMs ?? 0;
  if (sample.loss > 0.08 || rtt > 600 || (sample.kbps > 0 && sample.kbps < 80)) return "poor";
  if (sample.loss > 0.02 || rtt > 250 || (sample.kbps > 0 && sample.kbps < 250)) return "fair";
  return "good";
}

/** Reads getStats into a sample, relative to the previous one of the same connection. */
export class QualityMeter {
  private last: { bytes: number; lost: number; received: number; at: number } | null = null;

  async sample(pc: RTCPeerConnection): Promise<QualitySample> {
    const stats = await pc.getStats();
    let bytes = 0;
    let lost = 0;
    let received = 0;
    let height: number | null = null;
    let rttMs: number | null = null;
    stats.forEach((s) => {
      if (s.type === "inbound-rtp") {
        bytes += s.bytesReceived ?? 0;
        lost += s.packetsLost ?? 0;
        received += s.packetsReceived ?? 0;
        if (s.kind === "video" && s.frameHeight) height = s.frameHeight;
      } else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) {
        rttMs = s.currentRoundTripTime * 1000;
      }
    });
    const now = performance.now();
    const prev = this.last;
    this.last = { bytes, lost, received, at: now };
    if (!prev) return { rttMs, loss: 0, kbps: 0, height };
    const seconds = Math.max((now - prev.at) / 1000, 0.001);
    const packets = received - prev.received + (lost - prev.lost);
    return {
      rttMs,
      loss: packets > 0 ? Math.max(0, lost - prev.lost) / packets : 0,
      kbps: ((bytes - prev.bytes) * 8) / 1000 / seconds,
      height,
    };
  }
}
