// Arbeitsplätze/Endgeräte (design/crypto.md §4.4), mirroring interfaces/client/devices.py: approval checks
// the new device's keys by the MAC under the typed pairing code before anything is signed or sent.
import {
  deviceKeys, equal, fromHex, Keyring, normaliseCode, pairingKey, pairingTagApprover, pairingTagNewDevice,
  randomBytes, shortNameKey, sign, TamperingDetected, toHex, transcripts as t, verify,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError } from "./api";
import type { components } from "./api-types";
import type { Session } from "./client";
import { loadDevice, saveDevice } from "./devicestore";
import { certificatesToSign, MSG_INVITE_ELSEWHERE, sendCertificates } from "./invites";

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
  Promise<{ sent: { challenge_id: string; sig: string }; nonce: Uint8Array; challenge: FreshChallenge }> {
  const stored = await loadDevice(shortNameKey(session.orgShort)!);
  if (!stored) throw new ApiError(400, "Dieses Gerät ist für diese Organisation nicht eingerichtet.");
  const challenge = await api<FreshChallenge>("POST", "/auth/fresh",
    { origin: location.origin }, true);
  const signing = deviceKeys(fromHex(stored.secrets.seed)).signing;
  const message = t.sensitive(session.orgId, stored.record.deviceId, action, target, fromHex(challenge.nonce),
    location.origin);
  return { sent: { challenge_id: challenge.challenge_id, sig: toHex(sign(signing, message)) },
    nonce: fromHex(challenge.nonce), challenge };
}

/** /auth/fresh also names the user's current password parameters (needed to sign with the old password). */
export interface FreshChallenge {
  challenge_id: string;
  nonce: string;
  salt: string;
  kdf: { ops: number; mem: number };
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
  // Invited users' proofs are checked before anything is approved (§8a.10): a forged pk_pw stops it here.
  const { users, certs } = await certificatesToSign(session);
  const requester = users.find((u) => shortNameKey(u.user_short) === device.requested_by);
  if (requester && !requester.certified && !certs.some(([u]) => u.user_short === requester.user_short)) {
    throw new ApiError(409, MSG_INVITE_ELSEWHERE);
  }
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
  await sendCertificates(session, certs); // an invited user enrolling this device is certified now
}

export const MSG_MP_KEYS =
  "Die Schlüssel des Masterpassworts sind nicht von der Organisation bestätigt; der Schlüsselbund wird nicht an " +
  "sie vergeben. Vorgang abgebrochen.";

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00");

export async function setLocked(session: Session, deviceId: string, locked: boolean): Promise<void> {
  const action = locked ? "lock" : "unlock";
  const sent = await proof(session, `device-${action}`, deviceId);
  await api("POST", `/devices/${encodeURIComponent(deviceId)}/${action}`, { proof: sent }, true);
}

/** Devices whose certificate verifies against the organisation key: the server cannot add one. */
function certified(session: Session, devices: Device[]): Device[] {
  return devices.filter((d) => (d.status === "approved" || d.status === "locked") && d.cert &&
    verify(session.keyring.signPk, t.deviceCert(session.orgId, d.device_id, d.name, fromHex(d.dev_sign_pk),
      fromHex(d.dev_box_pk), d.approved_at ?? "", d.approver ?? ""), fromHex(d.cert)));
}

/**
 * §4.8: a signed revocation, then keyring v+1 with a new data key (older keys kept, so old records stay
 * readable) for every remaining certified device and the master-password key. The session uses the new
 * keyring afterwards. A request that never got keys (pending) is simply rejected.
 */
export async function revokeDevice(session: Session, deviceId: string): Promise<void> {
  const old = session.keyring;
  const { devices } = await listDevices();
  const device = devices.find((d) => d.device_id === deviceId);
  if (!device) throw new ApiError(404, "Dieses Gerät gibt es in dieser Organisation nicht.");
  const revokedAt = nowIso();
  const revocation = toHex(sign(old.signing, t.revocation(session.orgId, deviceId, revokedAt)));
  if (device.status === "pending" || device.status === "expired") {
    await api("POST", `/devices/${encodeURIComponent(deviceId)}/revoke`, {
      revoked_at: revokedAt, revocation, proof: await proof(session, "device-revoke", deviceId) }, true);
    return;
  }
  const remaining = certified(session, devices).filter((d) => d.device_id !== deviceId);
  const master = await api<{ sign_pk: string; box_pk: string; cert?: string | null }>("GET", "/masterpassword",
    undefined, true);
  // Never seal the keyring to a master-password key the organisation did not vouch for.
  if (!master.cert || !verify(old.signPk, t.masterKeysCert(session.orgId, fromHex(master.sign_pk),
    fromHex(master.box_pk)), fromHex(master.cert))) {
    throw new TamperingDetected(MSG_MP_KEYS);
  }
  const next = new Keyring(old.version + 1, session.orgId, old.orgSignSeed, old.orgBoxSeed,
    new Map([...old.dataKeys, [old.version + 1, randomBytes(32)]]));
  const grants: Record<string, { sealed: string; sig: string }> = {};
  for (const d of remaining) grants[d.device_id] = next.grant(d.device_id, fromHex(d.dev_box_pk));
  const result = await api<{ keyring_version: number }>("POST", `/devices/${encodeURIComponent(deviceId)}/revoke`, {
    revoked_at: revokedAt, revocation,
    // the org-signed head of the new version travels with the mp grant (§8a.11)
    rotation: { version: next.version, mp_grant: { ...next.grant("mp", fromHex(master.box_pk)), head: next.head(revokedAt) },
      grants },
    proof: await proof(session, "device-revoke", deviceId),
  }, true);
  if (result.keyring_version !== next.version) throw new TamperingDetected();
  session.keyring = next;
  const stored = await loadDevice(shortNameKey(session.orgShort)!);
  if (stored) await saveDevice({ ...stored.record, keyringVersion: next.version }, stored.secrets);
}
