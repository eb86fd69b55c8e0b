// Zugang wiederherstellen (design/crypto.md §4.7), mirroring interfaces/client/recovery.py: the master password
// approves this browser; optionally a user's new password is set at the same time. A browser whose enrolment
// is still waiting keeps its keys and is approved as it is (approval with the master password on the new
// device itself). The master password never leaves the page.
import {
  deviceKeys, equal, fromHex, MASTER_MEM, MASTER_OPS, masterKeys, mpAnchor, openGrant, PASSWORD_MEM, PASSWORD_OPS,
  passwordKeys, randomBytes, SALT_BYTES, shortNameKey, sign, TamperingDetected, toHex, transcripts as t,
  type WireGrant,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError } from "./api";
import { loadDevice, requestPersistence, saveDevice } from "./devicestore";
import { password as passwordProblem } from "./validation";

export const MSG_ANCHOR = "Der Organisationsschlüssel des Servers passt nicht zum Masterpasswort (Anker ungültig). " +
  "Vorgang abgebrochen.";
export const MSG_NO_USER = "Diesen Benutzer gibt es in dieser Organisation nicht.";
const MSG_WEAK = "Der Server verlangt zu schwache Parameter für die Schlüsselableitung.";

export interface RecoveryForm {
  org: string;
  masterPassword: string;
  deviceName: string;
  user?: string; // with newPassword: that user's password is set anew
  newPassword?: string;
  unlock?: string; // the one-time code of an alarm mail
}

interface Finish {
  org_id: string;
  org_sign_pk: string;
  master: { anchor: string };
  mp_grant: WireGrant;
  recovery_token: string;
  users: { user_short: string; role: string }[];
}

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00");

/** Returns the name this browser is approved under and the user whose password was set, if any. */
export async function recover(form: RecoveryForm, onProgress?: Progress):
  Promise<{ deviceName: string; userShort: string | null }> {
  const org = form.org.trim();
  const orgKey = shortNameKey(org);
  if (!orgKey) throw new ApiError(400, "Bitte den Kurznamen der Organisation angeben.", { org: ["Bitte angeben."] });
  const wantsReset = !!(form.user?.trim() && form.newPassword);
  if (wantsReset) {
    const problem = passwordProblem(form.newPassword!);
    if (problem) throw new ApiError(400, problem, { new_password: [problem] });
  }
  const stored = await loadDevice(orgKey);
  const pending = stored !== null && stored.record.pinnedOrgSignPk === null;
  const seed = pending ? fromHex(stored.secrets.seed) : randomBytes(32);
  const deviceId = pending ? stored.record.deviceId : `dev-${toHex(randomBytes(8))}`;
  const name = pending ? stored.record.name : (form.deviceName.trim() || "Wiederherstellung");
  const device = deviceKeys(seed);
  const signPk = device.signing.publicKey;
  const boxPk = device.box.publicKey;

  const start: Record<string, string> = { org, origin: location.origin };
  if (form.unlock?.trim()) start.unlock = form.unlock.trim().toLowerCase();
  const challenge = await api<{ challenge_id: string; nonce: string; salt: string; kdf: { ops: number; mem: number } }>(
    "POST", "/recovery/start", start);
  if (challenge.kdf.ops < MASTER_OPS || challenge.kdf.mem < MASTER_MEM || fromHex(challenge.salt).length !== SALT_BYTES) {
    throw new TamperingDetected(MSG_WEAK);
  }
  const salt = fromHex(challenge.salt);
  const mp = await masterKeys(form.masterPassword, salt, challenge.kdf.ops, challenge.kdf.mem,
    argon2InWorker(onProgress && ((f) => onProgress((wantsReset ? 0.8 : 1) * f))));
  const nonce = fromHex(challenge.nonce);
  const message = t.recovery(org, deviceId, name, signPk, boxPk, nonce, location.origin);
  const result = await api<Finish>("POST", "/recovery/finish", {
    challenge_id: challenge.challenge_id, device_id: deviceId, name, dev_sign_pk: toHex(signPk),
    dev_box_pk: toHex(boxPk), sig_mp: toHex(sign(mp.signing, message)), sig_dev: toHex(sign(device.signing, message)),
  });
  const orgId = String(result.org_id);
  const orgSignPk = fromHex(result.org_sign_pk);
  // The anchor ties the server's org key to the master password: a substituted key is refused here.
  const anchor = mpAnchor(mp.anchorKey, orgId, orgSignPk, mp.signing.publicKey, mp.box.publicKey);
  if (!equal(anchor, fromHex(result.master.anchor))) throw new TamperingDetected(MSG_ANCHOR);
  if (stored?.record.pinnedOrgSignPk && stored.record.pinnedOrgSignPk !== result.org_sign_pk) {
    throw new TamperingDetected(MSG_ANCHOR);
  }
  const keyring = openGrant(result.mp_grant, orgId, "mp", orgSignPk, mp.box, stored ? stored.record.keyringVersion : 0);

  const approvedAt = nowIso();
  let reset = null;
  if (wantsReset) {
    const key = shortNameKey(form.user!);
    const role = result.users.find((u) => shortNameKey(u.user_short) === key)?.role;
    if (!key || !role) throw new ApiError(404, MSG_NO_USER, { user: [MSG_NO_USER] });
    const pwSalt = randomBytes(SALT_BYTES);
    const pw = await passwordKeys(form.newPassword!, pwSalt, PASSWORD_OPS, PASSWORD_MEM,
      argon2InWorker(onProgress && ((f) => onProgress(0.8 + 0.2 * f))));
    const pk = pw.signing.publicKey;
    reset = {
      user_short: form.user!.trim(),
      password: { salt: toHex(pwSalt), ops: PASSWORD_OPS, mem: PASSWORD_MEM, pk_pw: toHex(pk) },
      cert: toHex(sign(keyring.signing, t.userCert(orgId, key, role, pwSalt, PASSWORD_OPS, PASSWORD_MEM, pk))),
      sig_new: toHex(sign(pw.signing, t.passwordSet(orgId, key, role, pwSalt, PASSWORD_OPS, PASSWORD_MEM, pk, nonce))),
    };
  }
  const done = await api<{ user_short?: string | null }>("POST", "/recovery/complete", {
    recovery_token: result.recovery_token,
    cert: toHex(sign(keyring.signing, t.deviceCert(orgId, deviceId, name, signPk, boxPk, approvedAt, "master-password"))),
    approved_at: approvedAt,
    grant: keyring.grant(deviceId, boxPk),
    reset,
    master_cert: toHex(sign(keyring.signing, t.masterKeysCert(orgId, mp.signing.publicKey, mp.box.publicKey))),
  });
  await saveDevice({ orgKey, orgId, deviceId, name, pinnedOrgSignPk: result.org_sign_pk,
    keyringVersion: keyring.version }, { seed: toHex(seed), pairingCode: null });
  void requestPersistence();
  return { deviceName: name, userShort: done.user_short ?? null };
}
