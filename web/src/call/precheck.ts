// The pre-call check (issue 12 item 1): camera and microphone with a level meter, the server, and whether
// TURN is reachable — a relay candidate gathered from the call's own TURN server.

export type CheckResult = "running" | "ok" | "failed";

/** Camera and microphone; either may fail on its own, so each is asked for separately if both fail. */
export async function openMedia(): Promise<{ stream: MediaStream; camera: boolean; microphone: boolean }> {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    return { stream, camera: true, microphone: true };
  } catch {
    const stream = new MediaStream();
    let camera = false;
    let microphone = false;
    try {
      (await navigator.mediaDevices.getUserMedia({ video: true })).getTracks().forEach((t) => stream.addTrack(t));
      camera = true;
    } catch { /* no camera */ }
    try {
      (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => stream.addTrack(t));
      microphone = true;
    } catch { /* no microphone */ }
    return { stream, camera, microphone };
  }
}

/** Calls `onLevel` with the microphone's level (0–1) about ten times a second; returns a stop function. */
export function watchLevel(stream: MediaStream, onLevel: (level: number) => void): () => void {
  if (!stream.getAudioTracks().length) return () => undefined;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
  }, 100);
  return () => {
    clearInterval(timer);
    void context.close();
  };
}

/** True if a relay candidate could be gathered from the call's TURN servers within `timeoutMs`. */
export async function turnReachable(iceServers: RTCIceServer[], timeoutMs = 8000): Promise<boolean> {
  const turn = iceServers.filter((s) => s.username);
  if (!turn.length) return false;
  const pc = new RTCPeerConnection({ iceServers: turn, iceTransportPolicy: "relay" });
  try {
    pc.createDataChannel("check");
    const found = new Promise<boolean>((resolve) => {
      pc.onicecandidate = (event) => {
        if (event.candidate === null) resolve(false);
        else if (event.candidate.type === "relay") resolve(true);
      };
      setTimeout(() => resolve(false), timeoutMs);
    });
    await pc.setLocalDescription(await pc.createOffer());
    return await found;
  } finally {
    pc.close();
  }
}
