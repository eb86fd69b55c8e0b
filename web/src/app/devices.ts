// Arbeitsplätze/Endgeräte (design/crypto.md §4.4), mirroring interfaces/client/devices.py: approval checks
// the new device's keys by the MAC under the typed pairing code before anything is signed or sent.
import {
  deviceKeys, equal, fromHex, normaliseCode, pairingKey, pairingTagApprover, pairingTagNewDevice, shortNameKey,
  sign, TamperingDetected, toHex, transcripts as t,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError } from "./api";
import type { components } from "./api-types";
import type { Session } from "./client";
import { loadDevice } from "./devicestore";

export type Device = Required<components["schemas"]["Device"]>;
export type Notice = Required<components["schemas"]["Notice"]>;

export const MSG_PAIRING =
  "Der Kopplungscode passt nicht zu den Schlüsseln des neuen Geräts. Bitte den Code prüfen; stimmt er, " +
  "wurde die Anfrage unterwegs verändert – dann nicht freigeben.";
export const MSG_CODE_FORMAT = "Der Kopplungscode hat 12 Zeichen (XXXX-XXXX-XXXX).";
export const MSG_NOT_PENDING = "Dieses Gerät wartet nicht (mehr) auf Freigabe.";

export const STATUS: Record<string, string> = {
  pending: "wartet auf Freigabe", approved: "freigegeben", locked: "gesperrt", revoked: "widerrufen",
  expired: "abgelaufen",
};

export async function listDevices(): Promise<{ devices: Device[]; notices: Notice[] }> {
  return api("GET", "/devices", undefined, true);
}

/** A fresh device signature over a fresh server nonce, bound to the action and its target (§4.2). */
export async function proof(session: Session, action: string, target: string): Promise<{ challenge_id: string; sig: string }> {
  return (await proofWithNonce(session, action, target)).sent;
}

/** The proof and the server's fresh nonce, which a new password key also signs (possession, §4.5). */
export async function proofWithNonce(session: Session, action: string, target: string):
  Promise<{ sent: { challenge_id: string; sig: string }; nonce: Uint8Array }> {
  const stored = await loadDevice(shortNameKey(session.orgShort)!);
  if (!stored) throw new ApiError(400, "Dieses Gerät ist für diese Organisation nicht eingerichtet.");
  const challenge = await api<{ challenge_id: string; nonce: string }>("POST", "/auth/fresh",
    { origin: location.origin }, true);
  const signing = deviceKeys(fromHex(stored.secrets.seed)).signing;
  const message = t.sensitive(session.orgId, stored.record.deviceId, action, target, fromHex(challenge.nonce),
    location.origin);
  return { sent: { challenge_id: challenge.challenge_id, sig: toHex(sign(signing, message)) },
    nonce: fromHex(challenge.nonce) };
}

export async function approveDevice(session: Session, deviceId: string, code: string,
  onProgress?: Progress): Promise<void> {
  const { devices } = await listDevices();
  const device = devices.find((d) => d.device_id === deviceId);
  if (!device) throw new ApiError(404, "Dieses Gerät gibt es in dieser Organisation nicht.");
  if (device.status !== "pending") throw new ApiError(409, MSG_NOT_PENDING);
  if (normaliseCode(code) === null) throw new ApiError(400, MSG_CODE_FORMAT, { code: [MSG_CODE_FORMAT] });
  const { keyring, orgId } = session;
  const kPair = await pairingKey(code, orgId, deviceId, argon2InWorker(onProgress));
  const signPk = fromHex(device.dev_sign_pk);
  const boxPk = fromHex(device.dev_box_pk);
  const expected = pairingTagNewDevice(kPair, orgId, deviceId, device.name, signPk, boxPk);
  if (!device.pairing_tag || !equal(expected, fromHex(device.pairing_tag))) throw new TamperingDetected(MSG_PAIRING);
  const approvedAt = new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00");
  const sent = await proof(session, "device-approve", deviceId);
  await api("POST", `/devices/${encodeURIComponent(deviceId)}/approve`, {
    cert: toHex(sign(keyring.signing, t.deviceCert(orgId, deviceId, device.name, signPk, boxPk, approvedAt,
      session.deviceId))),
    approved_at: approvedAt,
    grant: keyring.grant(deviceId, boxPk),
    grant_version: keyring.version,
    approver_tag: toHex(pairingTagApprover(kPair, orgId, deviceId, keyring.signPk)),
    proof: sent,
  }, true);
}
