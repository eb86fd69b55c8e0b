// Registration and login in the browser (design/crypto.md §4.1, §4.2), mirroring Client.register and
// Client.login of interfaces/client/sdk.py. Passwords and keys never leave the page; the server receives
// public keys, signatures, certificates and sealed grants only.
import {
  deviceKeys, equal, fromHex, Keyring, MASTER_MEM, MASTER_OPS, masterKeys, mpAnchor, openGrant, PASSWORD_MEM,
  PASSWORD_OPS, passwordKeys, passwordLength, randomBytes, ready, SALT_BYTES, shortNameKey, sign, TamperingDetected,
  toHex, transcripts as t, verify,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError, setToken } from "./api";
import type { components } from "./api-types";
import { loadDevice, requestPersistence, saveDevice } from "./devicestore";

export const MSG_NO_DEVICE =
  "Dieser Browser ist für diese Organisation noch nicht eingerichtet. Bitte melden Sie sich auf einem " +
  "freigegebenen Gerät an oder registrieren Sie Ihre Praxis.";
export const MSG_AUTH_FAILED = "Anmeldung fehlgeschlagen. Bitte Praxiskennung, Benutzername und Passwort prüfen.";
export const MSG_PASSWORD_TOO_LONG = "Das Passwort darf höchstens 32 Zeichen lang sein.";

export interface Session {
  token: string;
  orgId: string;
  orgShort: string;
  userShort: string;
  role: string;
  deviceId: string;
  keyring: Keyring;
}

// Request and response shapes generated from /api/openapi.json (`make api-types`). The server's response
// schemas mark nothing as required, so the answers are taken as complete here.
type Schemas = components["schemas"];
type RegistrationResult = Required<Schemas["RegistrationResult"]>;
type Challenge = Required<Schemas["Challenge"]> & { kdf: Required<Schemas["Kdf"]> };
type LoginResult = Required<Schemas["LoginResult"]> & { grant: { version: number; sealed: string; sig: string } };

/** The form of the wizard without secrets: the API body less `crypto` (tests/fixtures/praxis_winkler.json). */
export type RegistrationForm = Omit<Schemas["Registration"], "crypto">;

function uuid4(): string {
  return crypto.randomUUID();
}

export async function register(form: RegistrationForm, password: string, masterPassword: string,
  onProgress?: Progress): Promise<RegistrationResult> {
  await ready();
  const creds = form.credentials;
  const orgId = uuid4();
  const keyring = Keyring.create(orgId);
  const deviceSeed = randomBytes(32);
  const device = deviceKeys(deviceSeed);
  const deviceId = `dev-${toHex(randomBytes(8))}`;
  const pwSalt = randomBytes(SALT_BYTES);
  const mpSalt = randomBytes(SALT_BYTES);
  // Two derivations, the master password's 4× heavier: progress runs 0–20 % and 20–100 %.
  const pw = await passwordKeys(password, pwSalt, PASSWORD_OPS, PASSWORD_MEM,
    argon2InWorker(onProgress && ((f) => onProgress(0.2 * f))));
  const mp = await masterKeys(masterPassword, mpSalt, MASTER_OPS, MASTER_MEM,
    argon2InWorker(onProgress && ((f) => onProgress(0.2 + 0.8 * f))));
  const pkPw = pw.signing.publicKey;
  const mpSignPk = mp.signing.publicKey;
  const mpBoxPk = mp.box.publicKey;
  const approvedAt = new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00");
  const userKey = shortNameKey(creds.user_short)!;
  const origin = location.origin;
  const transcript = t.registration(creds.org_short.trim(), orgId, creds.user_short.trim(), deviceId, origin);
  const org = keyring.signing;
  const body: Schemas["Registration"] = {
    ...form,
    crypto: {
      org_id: orgId,
      origin,
      org_sign_pk: toHex(keyring.signPk),
      org_box_pk: toHex(keyring.boxPk),
      user: {
        salt: toHex(pwSalt), ops: PASSWORD_OPS, mem: PASSWORD_MEM, pk_pw: toHex(pkPw),
        cert: toHex(sign(org, t.userCert(orgId, userKey, "admin", pwSalt, PASSWORD_OPS, PASSWORD_MEM, pkPw))),
      },
      master: {
        salt: toHex(mpSalt), ops: MASTER_OPS, mem: MASTER_MEM, sign_pk: toHex(mpSignPk), box_pk: toHex(mpBoxPk),
        anchor: toHex(mpAnchor(mp.anchorKey, orgId, keyring.signPk, mpSignPk, mpBoxPk)),
        grant: keyring.grant("mp", mpBoxPk),
        cert: toHex(sign(org, t.masterKeysCert(orgId, mpSignPk, mpBoxPk))),
      },
      device: {
        device_id: deviceId, sign_pk: toHex(device.signing.publicKey), box_pk: toHex(device.box.publicKey),
        cert: toHex(sign(org, t.deviceCert(orgId, deviceId, creds.device_name, device.signing.publicKey,
          device.box.publicKey, approvedAt, "registration"))),
        approved_at: approvedAt,
        grant: keyring.grant(deviceId, device.box.publicKey),
      },
      signatures: {
        org: toHex(sign(org, transcript)),
        master: toHex(sign(mp.signing, transcript)),
        password: toHex(sign(pw.signing, transcript)),
        device: toHex(sign(device.signing, transcript)),
      },
    },
  };
  const result = await api<RegistrationResult>("POST", "/registrations", body);
  await saveDevice({
    orgKey: shortNameKey(creds.org_short)!, orgId, deviceId, name: creds.device_name,
    pinnedOrgSignPk: toHex(keyring.signPk), keyringVersion: 1,
  }, { seed: toHex(deviceSeed), pairingCode: null });
  void requestPersistence();
  return result;
}

export async function login(org: string, user: string, password: string, onProgress?: Progress): Promise<Session> {
  const orgKey = shortNameKey(org);
  const stored = orgKey ? await loadDevice(orgKey) : null;
  if (!stored) throw new ApiError(400, MSG_NO_DEVICE);
  if (passwordLength(password) > 32) {
    throw new ApiError(400, MSG_PASSWORD_TOO_LONG, { password: [MSG_PASSWORD_TOO_LONG] });
  }
  await ready();
  const { record, secrets } = stored;
  const origin = location.origin;
  const challenge = await api<Challenge>("POST", "/auth/start",
    { org, user, device_id: record.deviceId, origin });
  const salt = fromHex(challenge.salt);
  const { ops, mem } = challenge.kdf;
  const device = deviceKeys(fromHex(secrets.seed));
  // passwordKeys refuses parameters below the floor, so a malicious server cannot weaken the derivation.
  const pw = await passwordKeys(password, salt, ops, mem, argon2InWorker(onProgress));
  const transcript = t.login(org, user, record.deviceId, fromHex(challenge.nonce), origin);
  let result: LoginResult;
  try {
    result = await api<LoginResult>("POST", "/auth/finish", {
      challenge_id: challenge.challenge_id,
      sig_pw: toHex(sign(pw.signing, transcript)),
      sig_dev: toHex(sign(device.signing, transcript)),
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw new ApiError(401, MSG_AUTH_FAILED);
    throw error;
  }
  if (record.pinnedOrgSignPk === null) {
    // Approval by pairing code (§4.4) follows with the device pages; until then only registered devices.
    throw new ApiError(400, MSG_NO_DEVICE);
  }
  const pinned = fromHex(record.pinnedOrgSignPk);
  if (!equal(fromHex(result.org_sign_pk), pinned)) throw new TamperingDetected();
  const keyring = openGrant(result.grant, record.orgId, record.deviceId, pinned, device.box, record.keyringVersion);
  // The organisation vouches for this user's password key and role (§8a item 10): no certificate, no login.
  const certified = t.userCert(record.orgId, shortNameKey(result.user_short)!, result.role, salt, ops, mem,
    pw.signing.publicKey);
  if (!result.user_cert || !verify(pinned, certified, fromHex(result.user_cert))) throw new TamperingDetected();
  if (keyring.version > record.keyringVersion) {
    await saveDevice({ ...record, keyringVersion: keyring.version }, secrets);
  }
  setToken(result.token);
  return {
    token: result.token, orgId: result.org_id, orgShort: result.org_short, userShort: result.user_short,
    role: result.role, deviceId: result.device_id, keyring,
  };
}

export async function logout(): Promise<void> {
  try {
    await api("POST", "/auth/logout", undefined, true);
  } finally {
    setToken(null);
  }
}
