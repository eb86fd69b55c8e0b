// Benutzer (design/crypto.md §4.5), mirroring add_user of interfaces/client/users.py: the employee types their
// own password here; only the salt, the public key, the org-signed certificate and a proof of possession of
// the new key leave the browser.
import {
  PASSWORD_MEM, PASSWORD_OPS, passwordKeys, randomBytes, SALT_BYTES, shortNameKey, sign, toHex, transcripts as t,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError } from "./api";
import type { components } from "./api-types";
import type { Session } from "./client";
import { proofWithNonce } from "./devices";
import { MSG_SHORT_NAME } from "../protocol/codes";
import { password as passwordProblem } from "./validation";

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
