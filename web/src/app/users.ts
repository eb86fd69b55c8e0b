// Benutzer (design/crypto.md §4.5), mirroring add_user of interfaces/client/users.py: the employee types their
// own password here; only the salt, the public key, the org-signed certificate and a proof of possession of
// the new key leave the browser.
import {
  fromHex, MASTER_MEM, MASTER_OPS, masterKeys, mpAnchor, PASSWORD_MEM, PASSWORD_OPS, passwordKeys, randomBytes,
  SALT_BYTES, shortNameKey, sign, TamperingDetected, toHex, transcripts as t,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError } from "./api";
import type { components } from "./api-types";
import type { Session } from "./client";
import { proof, proofWithNonce } from "./devices";
import { MSG_SHORT_NAME } from "../protocol/codes";
import { masterPasswordProblem, password as passwordProblem } from "./validation";

export type User = Required<components["schemas"]["User"]>;
export const ROLES: Record<string, string> = { admin: "Administrator", staff: "Mitarbeiter" };

export async function listUsers(): Promise<User[]> {
  return (await api<{ users: User[] }>("GET", "/users", undefined, true)).users;
}

export async function addUser(session: Session, userShort: string, role: string, password: string,
  onProgress?: Progress): Promise<void> {
  const key = shortNameKey(userShort);
  if (key === null) throw new ApiError(400, MSG_SHORT_NAME, { user_short: [MSG_SHORT_NAME] });
  const problem = passwordProblem(password);
  if (problem) throw new ApiError(400, problem, { password: [problem] });
  const salt = randomBytes(SALT_BYTES);
  const pw = await passwordKeys(password, salt, PASSWORD_OPS, PASSWORD_MEM, argon2InWorker(onProgress));
  const pk = pw.signing.publicKey;
  const { sent, nonce } = await proofWithNonce(session, "user-add", key);
  await api("POST", "/users", {
    user_short: userShort.trim(), role,
    password: { salt: toHex(salt), ops: PASSWORD_OPS, mem: PASSWORD_MEM, pk_pw: toHex(pk) },
    cert: toHex(sign(session.keyring.signing, t.userCert(session.orgId, key, role, salt, PASSWORD_OPS, PASSWORD_MEM, pk))),
    sig_new: toHex(sign(pw.signing, t.passwordSet(session.orgId, key, role, salt, PASSWORD_OPS, PASSWORD_MEM, pk, nonce))),
    proof: sent,
  }, true);
}

export const MSG_OLD_MASTER = "Das bisherige Masterpasswort ist falsch.";
const MSG_UNKNOWN_USER = "Diesen Benutzer gibt es in dieser Organisation nicht.";
const path = (user: string, action: string) => `/users/${encodeURIComponent(user)}/${action}`;

async function target(userShort: string): Promise<User> {
  const key = shortNameKey(userShort);
  const found = (await listUsers()).find((u) => shortNameKey(u.user_short) === key);
  if (!found) throw new ApiError(404, MSG_UNKNOWN_USER);
  return found;
}

/** The organisation's certificate over a user's password key and role (§8a item 10). */
function certificate(session: Session, key: string, role: string, salt: Uint8Array, ops: number, mem: number,
  pk: Uint8Array): string {
  return toHex(sign(session.keyring.signing, t.userCert(session.orgId, key, role, salt, ops, mem, pk)));
}

/** admin or staff: a new user certificate with the new role, signed by the organisation key. */
export async function setRole(session: Session, userShort: string, role: string): Promise<void> {
  const user = await target(userShort);
  const key = shortNameKey(user.user_short)!;
  const sent = await proof(session, "user-role", key);
  await api("POST", path(user.user_short, "role"), {
    role, cert: certificate(session, key, role, fromHex(user.pw_salt), user.pw_ops, user.pw_mem, fromHex(user.pk_pw)),
    proof: sent }, true);
}

export async function setActive(session: Session, userShort: string, active: boolean): Promise<void> {
  const action = active ? "reactivate" : "deactivate";
  const sent = await proof(session, `user-${action}`, shortNameKey(userShort)!);
  await api("POST", path(userShort, action), { proof: sent }, true);
}

async function newPassword(password: string, field: string, onProgress?: Progress) {
  const problem = passwordProblem(password);
  if (problem) throw new ApiError(400, problem, { [field]: [problem] });
  const salt = randomBytes(SALT_BYTES);
  const keys = await passwordKeys(password, salt, PASSWORD_OPS, PASSWORD_MEM, argon2InWorker(onProgress));
  return { salt, keys, pk: keys.signing.publicKey,
    body: { salt: toHex(salt), ops: PASSWORD_OPS, mem: PASSWORD_MEM, pk_pw: toHex(keys.signing.publicKey) } };
}

/** A forgotten staff password, in person: the employee types the new one on the admin's device. */
export async function resetPassword(session: Session, userShort: string, password: string,
  onProgress?: Progress): Promise<void> {
  const user = await target(userShort);
  const key = shortNameKey(user.user_short)!;
  const pw = await newPassword(password, "password", onProgress);
  const { sent, nonce } = await proofWithNonce(session, "user-password-reset", key);
  await api("POST", path(user.user_short, "password"), {
    password: pw.body, cert: certificate(session, key, user.role, pw.salt, PASSWORD_OPS, PASSWORD_MEM, pw.pk),
    sig_new: toHex(sign(pw.keys.signing, t.passwordSet(session.orgId, key, user.role, pw.salt, PASSWORD_OPS,
      PASSWORD_MEM, pw.pk, nonce))),
    proof: sent }, true);
}

/** §4.6: signed with the old and the new key over a fresh nonce, plus a new org-signed certificate. Returns
 * how many other sessions of this user were ended. */
export async function changePassword(session: Session, old: string, password: string,
  onProgress?: Progress): Promise<number> {
  const key = shortNameKey(session.userShort)!;
  const pw = await newPassword(password, "new_password", onProgress && ((f) => onProgress(0.5 * f)));
  const { sent, nonce, challenge } = await proofWithNonce(session, "password-change", key);
  // passwordKeys refuses parameters below the floor, so a server cannot weaken the old key's derivation.
  const oldKeys = await passwordKeys(old, fromHex(challenge.salt), challenge.kdf.ops, challenge.kdf.mem,
    argon2InWorker(onProgress && ((f) => onProgress(0.5 + 0.5 * f))));
  const message = t.passwordChange(session.orgId, key, pw.salt, pw.pk, nonce);
  const result = await api<{ other_sessions_ended: number }>("POST", "/password", {
    password: pw.body, cert: certificate(session, key, session.role, pw.salt, PASSWORD_OPS, PASSWORD_MEM, pw.pk),
    sig_old: toHex(sign(oldKeys.signing, message)), sig_new: toHex(sign(pw.keys.signing, message)), proof: sent,
  }, true);
  return result.other_sessions_ended;
}

/** §4.6: the current master password is checked here against the anchor over the pinned org key, then a new
 * salt, keys, anchor and mp grant are sent with proofs of both master keys. */
export async function changeMaster(session: Session, old: string, next: string,
  onProgress?: Progress): Promise<number> {
  const problem = masterPasswordProblem(next, "");
  if (problem) throw new ApiError(400, problem, { new_master_password: [problem] });
  const { keyring, orgId } = session;
  const params = await api<{ salt: string; ops: number; mem: number; sign_pk: string; anchor: string }>(
    "GET", "/masterpassword", undefined, true);
  if (params.ops < MASTER_OPS || params.mem < MASTER_MEM) {
    throw new TamperingDetected("Der Server verlangt zu schwache Parameter für die Schlüsselableitung.");
  }
  const current = await masterKeys(old, fromHex(params.salt), params.ops, params.mem,
    argon2InWorker(onProgress && ((f) => onProgress(0.5 * f))));
  const anchor = mpAnchor(current.anchorKey, orgId, keyring.signPk, current.signing.publicKey, current.box.publicKey);
  if (toHex(current.signing.publicKey) !== params.sign_pk || toHex(anchor) !== params.anchor) {
    throw new ApiError(400, MSG_OLD_MASTER, { old_master_password: [MSG_OLD_MASTER] });
  }
  const salt = randomBytes(SALT_BYTES);
  const fresh = await masterKeys(next, salt, MASTER_OPS, MASTER_MEM,
    argon2InWorker(onProgress && ((f) => onProgress(0.5 + 0.5 * f))));
  const signPk = fresh.signing.publicKey;
  const boxPk = fresh.box.publicKey;
  const newAnchor = mpAnchor(fresh.anchorKey, orgId, keyring.signPk, signPk, boxPk);
  const { sent, nonce } = await proofWithNonce(session, "master-change", orgId);
  const message = t.masterChange(orgId, salt, MASTER_OPS, MASTER_MEM, signPk, boxPk, newAnchor, nonce);
  const result = await api<{ other_sessions_ended: number }>("POST", "/masterpassword", {
    master: { salt: toHex(salt), ops: MASTER_OPS, mem: MASTER_MEM, sign_pk: toHex(signPk), box_pk: toHex(boxPk),
      anchor: toHex(newAnchor), cert: toHex(sign(keyring.signing, t.masterKeysCert(orgId, signPk, boxPk))) },
    mp_grant: keyring.grant("mp", boxPk),
    sig_old: toHex(sign(current.signing, message)), sig_new: toHex(sign(fresh.signing, message)), proof: sent,
  }, true);
  return result.other_sessions_ended;
}
