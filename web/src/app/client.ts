// Registration and login in the browser (design/crypto.md §4.1, §4.2), mirroring Client.register and
// Client.login of interfaces/client/sdk.py. Passwords and keys never leave the page; the server receives
// public keys, signatures, certificates and sealed grants only.
import {
  deviceKeys, equal, fromHex, Keyring, MASTER_MEM, MASTER_OPS, masterKeys, mpAnchor, newCode, openGrant,
  pairingKey, pairingTagApprover, pairingTagNewDevice, PASSWORD_MEM, PASSWORD_OPS, passwordKeys, type PasswordKeys,
  passwordLength, randomBytes, ready, SALT_BYTES, shortNameKey, sign, TamperingDetected, toHex, transcripts as t,
  verify,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError, setToken } from "./api";
import type { components } from "./api-types";
import { loadDevice, requestPersistence, saveDevice } from "./devicestore";

export const MSG_NO_DEVICE =
  "Dieser Browser ist für diese Organisation noch nicht eingerichtet. Bitte melden Sie sich auf einem " +
  "freigegebenen Gerät an oder registrieren Sie Ihre Praxis.";
export const MSG_AUTH_FAILED =
  "Anmeldung fehlgeschlagen. Bitte Kurzname der Organisation, Kurzname des Benutzers und Passwort prüfen.";
export const MSG_PASSWORD_TOO_LONG = "Das Passwort darf höchstens 32 Zeichen lang sein.";

export interface Session {
  token: string;
  orgId: string;
  orgShort: string;
  userShort: string;
  role: string;
  deviceId: string;
  keyring: Keyring;
  /** Legal texts (Nutzungsbedingungen, AVV) in a version the organisation has not accepted yet. */
  legalPending: LegalPending[];
}

export interface LegalPending {
  document: string;
  version: string;
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

export const MSG_WAITING =
  "Gerät wartet auf Freigabe. Bitte an einem freigegebenen Gerät den Kopplungscode eingeben lassen.";
export const MSG_ORG_KEY =
  "Der Organisationsschlüssel passt nicht zum Kopplungscode: der Server hat ihn womöglich ausgetauscht. " +
  "Vorgang abgebrochen.";
export const MSG_ENROLLED = "Dieses Gerät ist für diese Organisation bereits eingerichtet.";

/** The password key derived for one salt: kept in memory while a new device waits, so polling needs no Argon2. */
export interface DerivedPassword {
  salt: string;
  keys: PasswordKeys;
}

export async function challengeFor(org: string, user: string, deviceId: string): Promise<Challenge> {
  const challenge = await api<Challenge>("POST", "/auth/start", { org, user, device_id: deviceId,
    origin: location.origin });
  // passwordKeys enforces the floors too; checked here as well so a cached key is never reused on a downgrade.
  if (challenge.kdf.ops < PASSWORD_OPS || challenge.kdf.mem < PASSWORD_MEM ||
      fromHex(challenge.salt).length !== SALT_BYTES) {
    throw new TamperingDetected("Der Server verlangt zu schwache Parameter für die Schlüsselableitung.");
  }
  return challenge;
}

async function derive(password: string | DerivedPassword, challenge: Challenge,
  onProgress?: Progress): Promise<DerivedPassword> {
  if (typeof password !== "string" && password.salt === challenge.salt) return password;
  if (typeof password !== "string") throw new ApiError(401, MSG_AUTH_FAILED);
  const keys = await passwordKeys(password, fromHex(challenge.salt), challenge.kdf.ops, challenge.kdf.mem,
    argon2InWorker(onProgress));
  return { salt: challenge.salt, keys };
}

/** "Gerät wartet auf Freigabe" after the single 401, when this browser's enrolment is pending (§4.3). */
export async function pendingStatus(org: string, user: string, deviceId: string, seed: string,
  password: DerivedPassword): Promise<boolean> {
  const challenge = await challengeFor(org, user, deviceId);
  const pw = await derive(password, challenge);
  const message = t.enrollStatus(org, user, deviceId, fromHex(challenge.nonce), location.origin);
  try {
    const status = await api<{ status: string }>("POST", "/devices/enroll/status", {
      challenge_id: challenge.challenge_id, sig_pw: toHex(sign(pw.keys.signing, message)),
      sig_dev: toHex(sign(deviceKeys(fromHex(seed)).signing, message)),
    });
    return status.status === "pending";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    throw error;
  }
}

export async function login(org: string, user: string, password: string | DerivedPassword,
  onProgress?: Progress): Promise<Session> {
  const orgKey = shortNameKey(org);
  const stored = orgKey ? await loadDevice(orgKey) : null;
  if (!stored) throw new ApiError(400, MSG_NO_DEVICE);
  if (typeof password === "string" && passwordLength(password) > 32) {
    throw new ApiError(400, MSG_PASSWORD_TOO_LONG, { password: [MSG_PASSWORD_TOO_LONG] });
  }
  await ready();
  const { record, secrets } = stored;
  const challenge = await challengeFor(org, user, record.deviceId);
  const { ops, mem } = challenge.kdf;
  const salt = fromHex(challenge.salt);
  const device = deviceKeys(fromHex(secrets.seed));
  const pw = await derive(password, challenge, onProgress);
  const transcript = t.login(org, user, record.deviceId, fromHex(challenge.nonce), location.origin);
  let result: LoginResult;
  try {
    result = await api<LoginResult>("POST", "/auth/finish", {
      challenge_id: challenge.challenge_id,
      sig_pw: toHex(sign(pw.keys.signing, transcript)),
      sig_dev: toHex(sign(device.signing, transcript)),
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      if (record.pinnedOrgSignPk === null && await pendingStatus(org, user, record.deviceId, secrets.seed, pw)) {
        throw new ApiError(401, MSG_WAITING);
      }
      throw new ApiError(401, MSG_AUTH_FAILED);
    }
    throw error;
  }
  let pinnedHex = record.pinnedOrgSignPk;
  if (pinnedHex === null) {
    // First login after approval (§4.4 step 5): check the approver's tag over the org key before pinning it.
    if (!secrets.pairingCode || !result.approver_tag || result.org_id !== record.orgId) throw new TamperingDetected(MSG_ORG_KEY);
    const kPair = await pairingKey(secrets.pairingCode, record.orgId, record.deviceId, argon2InWorker());
    const expected = pairingTagApprover(kPair, record.orgId, record.deviceId, fromHex(result.org_sign_pk));
    if (!equal(expected, fromHex(result.approver_tag))) throw new TamperingDetected(MSG_ORG_KEY);
    pinnedHex = result.org_sign_pk;
  }
  const pinned = fromHex(pinnedHex);
  if (!equal(fromHex(result.org_sign_pk), pinned)) throw new TamperingDetected();
  const keyring = openGrant(result.grant, record.orgId, record.deviceId, pinned, device.box, record.keyringVersion);
  // The organisation vouches for this user's password key and role (§8a item 10): no certificate, no login.
  const certified = t.userCert(record.orgId, shortNameKey(result.user_short)!, result.role, salt, ops, mem,
    pw.keys.signing.publicKey);
  if (!result.user_cert || !verify(pinned, certified, fromHex(result.user_cert))) throw new TamperingDetected();
  if (keyring.version > record.keyringVersion || record.pinnedOrgSignPk === null) {
    await saveDevice({ ...record, keyringVersion: keyring.version, pinnedOrgSignPk: pinnedHex },
      { seed: secrets.seed, pairingCode: null });
  }
  setToken(result.token);
  return {
    token: result.token, orgId: result.org_id, orgShort: result.org_short, userShort: result.user_short,
    role: result.role, deviceId: result.device_id, keyring,
    legalPending: (result.legal_pending ?? []).map((p) => ({ document: String(p.document), version: String(p.version) })),
  };
}

export interface Enrollment {
  pairingCode: string;
  deviceId: string;
  password: DerivedPassword;
}

/** §4.4 on a new browser: request approval with the user's password; the pairing code is shown here only. */
export async function enroll(org: string, user: string, password: string, name: string,
  onProgress?: Progress): Promise<Enrollment> {
  const orgKey = shortNameKey(org);
  if (!orgKey) throw new ApiError(400, MSG_AUTH_FAILED);
  const existing = await loadDevice(orgKey);
  if (existing?.record.pinnedOrgSignPk) throw new ApiError(400, MSG_ENROLLED);
  await ready();
  const seed = randomBytes(32);
  const device = deviceKeys(seed);
  const deviceId = `dev-${toHex(randomBytes(8))}`;
  const code = newCode();
  const challenge = await challengeFor(org, user, deviceId);
  const pw = await derive(password, challenge, onProgress && ((f) => onProgress(0.5 * f)));
  const message = t.enroll(org, user, deviceId, name, device.signing.publicKey, device.box.publicKey,
    fromHex(challenge.nonce), location.origin);
  let result: { org_id: string };
  try {
    result = await api<{ org_id: string }>("POST", "/devices/enroll", {
      challenge_id: challenge.challenge_id, name, dev_sign_pk: toHex(device.signing.publicKey),
      dev_box_pk: toHex(device.box.publicKey), sig_pw: toHex(sign(pw.keys.signing, message)),
      sig_dev: toHex(sign(device.signing, message)),
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw new ApiError(401, MSG_AUTH_FAILED);
    throw error;
  }
  const orgId = String(result.org_id);
  // tag_B: a MAC over this device's keys under the pairing key, which the approver recomputes from the code.
  const kPair = await pairingKey(code, orgId, deviceId, argon2InWorker(onProgress && ((f) => onProgress(0.5 + 0.5 * f))));
  const tag = pairingTagNewDevice(kPair, orgId, deviceId, name, device.signing.publicKey, device.box.publicKey);
  await api("POST", "/devices/enroll/tag", { org, device_id: deviceId, tag: toHex(tag),
    sig: toHex(sign(device.signing, t.enrollTag(orgId, deviceId, tag))) });
  await saveDevice({ orgKey, orgId, deviceId, name, pinnedOrgSignPk: null, keyringVersion: 0 },
    { seed: toHex(seed), pairingCode: code });
  void requestPersistence();
  return { pairingCode: code, deviceId, password: pw };
}

/**
 * Waits until an approved device (or the master password) approves this browser, then logs in by itself.
 * Polls the pending status with the key derived once; when it is no longer pending, one login attempt tells
 * approved from refused.
 */
export async function waitForApproval(org: string, user: string, enrollment: Enrollment, signal: AbortSignal,
  intervalMs = 2000): Promise<Session> {
  const orgKey = shortNameKey(org)!;
  for (;;) {
    if (signal.aborted) throw new DOMException("abgebrochen", "AbortError");
    const stored = await loadDevice(orgKey);
    if (!stored) throw new ApiError(400, MSG_NO_DEVICE);
    if (!await pendingStatus(org, user, enrollment.deviceId, stored.secrets.seed, enrollment.password)) {
      return login(org, user, enrollment.password);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function logout(): Promise<void> {
  try {
    await api("POST", "/auth/logout", undefined, true);
  } finally {
    setToken(null);
  }
}
