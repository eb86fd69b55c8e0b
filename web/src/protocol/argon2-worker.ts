// The browser's Argon2 (design/web.md fact 8): each derivation in its own module Worker, terminated after,
// with progress reported by elapsed time (libsodium gives no progress of its own) so the page can show
// "Schlüssel werden abgeleitet …" with a bar that moves.
import type { Argon2 } from "./primitives";
import Argon2Worker from "./argon2.worker?worker";

export type Progress = (fraction: number) => void;

// Typical durations on a loaded 2-core machine (design/web.md, measured); the bar slows down near the end
// instead of stopping, so a slower machine still sees movement.
function expectedMs(mem: number): number {
  return mem >= 256 * 1024 * 1024 ? 2500 : 700;
}

export function argon2InWorker(onProgress?: Progress): Argon2 {
  return (secret, salt, ops, mem) => new Promise<Uint8Array>((resolve, reject) => {
    const worker = new Argon2Worker();
    const started = performance.now();
    const expected = expectedMs(mem) * Math.max(1, ops / 3);
    const timer = onProgress
      ? setInterval(() => onProgress(1 - Math.exp(-(performance.now() - started) / expected)), 100)
      : undefined;
    const finish = () => {
      clearInterval(timer);
      worker.terminate();
    };
    worker.onmessage = (event: MessageEvent<{ root?: Uint8Array; error?: string }>) => {
      finish();
      if (event.data.root) {
        onProgress?.(1);
        resolve(event.data.root);
      } else reject(new Error(event.data.error ?? "Argon2 fehlgeschlagen"));
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(event.message || "Argon2 fehlgeschlagen"));
    };
    worker.postMessage({ secret, salt, ops, mem });
  });
}
