// Key derivations of design/crypto.md §2.3 (password, master password, device) and the pairing of §4.4.
import {
  type Argon2, argon2InThread, boxKeyPair, type BoxKeyPair, h, kdf, MASTER_MEM, MASTER_OPS, normalisePassword,
  PASSWORD_MEM, PASSWORD_OPS, randomBytes, SALT_BYTES, signKeyPair, type SignKeyPair,
} from "./primitives";
import { utf8 } from "./bytes";
import { encodeCode, normaliseCode } from "./codes";

export class WeakParameters extends Error {
  constructor() {
    super("Der Server verlangt zu schwache Parameter für die Schlüsselableitung.");
  }
}

function checkFloor(salt: Uint8Array, ops: number, mem: number, minOps: number, minMem: number): void {
  if (ops < minOps || mem < minMem || salt.length !== SALT_BYTES) throw new WeakParameters();
}

export interface PasswordKeys {
  signing: SignKeyPair;
}

export interface MasterKeys {
  signing: SignKeyPair;
  box: BoxKeyPair;
  anchorKey: Uint8Array;
}

export interface DeviceKeys {
  signing: SignKeyPair;
  box: BoxKeyPair;
}

export function passwordKeysFromRoot(root: Uint8Array): PasswordKeys {
  return { signing: signKeyPair(kdf(root, "vdcpw_v1", 1)) };
}

export async function passwordKeys(password: string, salt: Uint8Array, ops = PASSWORD_OPS, mem = PASSWORD_MEM,
  argon2: Argon2 = argon2InThread): Promise<PasswordKeys> {
  checkFloor(salt, ops, mem, PASSWORD_OPS, PASSWORD_MEM);
  return passwordKeysFromRoot(await argon2(normalisePassword(password), salt, ops, mem));
}

export function masterKeysFromRoot(root: Uint8Array): MasterKeys {
  return {
    signing: signKeyPair(kdf(root, "vdcmp_v1", 1)),
    box: boxKeyPair(kdf(root, "vdcmp_v1", 2)),
    anchorKey: kdf(root, "vdcmp_v1", 3),
  };
}

export async function masterKeys(masterPassword: string, salt: Uint8Array, ops = MASTER_OPS, mem = MASTER_MEM,
  argon2: Argon2 = argon2InThread): Promise<MasterKeys> {
  checkFloor(salt, ops, mem, MASTER_OPS, MASTER_MEM);
  return masterKeysFromRoot(await argon2(normalisePassword(masterPassword), salt, ops, mem));
}

export function deviceKeys(seed: Uint8Array): DeviceKeys {
  return { signing: signKeyPair(kdf(seed, "vdcdv_v1", 1)), box: boxKeyPair(kdf(seed, "vdcdv_v1", 2)) };
}

export function mpAnchor(anchorKey: Uint8Array, orgId: string, orgSignPk: Uint8Array, mpSignPk: Uint8Array,
  mpBoxPk: Uint8Array): Uint8Array {
  return h(["vdc/v1/mp-anchor", orgId, orgSignPk, mpSignPk, mpBoxPk], anchorKey);
}

// --- pairing (§4.4) ------------------------------------------------------------------------------

/** A fresh 60-bit code (pairing, access, invite codes). */
export function newCode(): string {
  return encodeCode(randomBytes(8));
}

export function pairingSalt(orgId: string, deviceId: string): Uint8Array {
  return h(["vdc/v1/pair-salt", orgId, deviceId]).slice(0, SALT_BYTES);
}

export async function pairingKey(code: string, orgId: string, deviceId: string,
  argon2: Argon2 = argon2InThread): Promise<Uint8Array> {
  const normalised = normaliseCode(code);
  if (normalised === null) throw new Error("not a 12-character code");
  return argon2(utf8(normalised), pairingSalt(orgId, deviceId), PASSWORD_OPS, PASSWORD_MEM);
}

export function pairingTagNewDevice(kPair: Uint8Array, orgId: string, deviceId: string, name: string,
  devSignPk: Uint8Array, devBoxPk: Uint8Array): Uint8Array {
  return h(["vdc/v1/pair-new-device", orgId, deviceId, name, devSignPk, devBoxPk], kPair);
}

export function pairingTagApprover(kPair: Uint8Array, orgId: string, deviceId: string,
  orgSignPk: Uint8Array): Uint8Array {
  return h(["vdc/v1/pair-approver", orgId, deviceId, orgSignPk], kPair);
}
