// What gets signed (design/crypto.md §4), mirroring infrastructure/crypto.py and application/protocol.py.
// Pure byte layouts: every message starts with its versioned domain label.
import { lp } from "./encoding";

export const registration = (orgShort: string, orgId: string, userShort: string, deviceId: string,
  origin: string) => lp("vdc/v1/register", orgShort, orgId, userShort, deviceId, origin);

export const login = (org: string, user: string, deviceId: string, nonce: Uint8Array, origin: string) =>
  lp("vdc/v1/login", org, user, deviceId, nonce, origin);

export const userCert = (orgId: string, userShort: string, role: string, pwSalt: Uint8Array, ops: number,
  mem: number, pkPw: Uint8Array) => lp("vdc/v1/user-cert", orgId, userShort, role, pwSalt, ops, mem, pkPw);

export const deviceCert = (orgId: string, deviceId: string, name: string, devSignPk: Uint8Array,
  devBoxPk: Uint8Array, approvedAt: string, approver: string) =>
  lp("vdc/v1/device-cert", orgId, deviceId, name, devSignPk, devBoxPk, approvedAt, approver);

export const grant = (orgId: string, recipient: string, version: number, sealed: Uint8Array) =>
  lp("vdc/v1/keyring-grant", orgId, recipient, version, sealed);

export const keyringHead = (orgId: string, version: number, rotatedAt: string) =>
  lp("vdc/v1/keyring-head", orgId, version, rotatedAt);

export const enroll = (org: string, user: string, deviceId: string, name: string, devSignPk: Uint8Array,
  devBoxPk: Uint8Array, nonce: Uint8Array, origin: string) =>
  lp("vdc/v1/enroll", org, user, deviceId, name, devSignPk, devBoxPk, nonce, origin);

export const enrollTag = (orgId: string, deviceId: string, tag: Uint8Array) =>
  lp("vdc/v1/enroll-tag", orgId, deviceId, tag);

export const enrollStatus = (org: string, user: string, deviceId: string, nonce: Uint8Array, origin: string) =>
  lp("vdc/v1/enroll-status", org, user, deviceId, nonce, origin);

/** The fresh device signature every sensitive action needs (§4.2), bound to the action and its target. */
export const sensitive = (orgId: string, deviceId: string, action: string, target: string, nonce: Uint8Array,
  origin: string) => lp("vdc/v1/sensitive", orgId, deviceId, action, target, nonce, origin);

export const passwordChange = (orgId: string, user: string, newSalt: Uint8Array, newPk: Uint8Array,
  nonce: Uint8Array) => lp("vdc/v1/pw-change", orgId, user, newSalt, newPk, nonce);

export const passwordSet = (orgId: string, user: string, role: string, salt: Uint8Array, ops: number,
  mem: number, pkPw: Uint8Array, nonce: Uint8Array) =>
  lp("vdc/v1/pw-set", orgId, user, role, salt, ops, mem, pkPw, nonce);

export const masterChange = (orgId: string, salt: Uint8Array, ops: number, mem: number, signPk: Uint8Array,
  boxPk: Uint8Array, anchor: Uint8Array, nonce: Uint8Array) =>
  lp("vdc/v1/mp-change", orgId, salt, ops, mem, signPk, boxPk, anchor, nonce);

/** The org key vouches for the master-password public keys (rotation grants to the genuine mp_box_pk). */
export const masterKeysCert = (orgId: string, mpSignPk: Uint8Array, mpBoxPk: Uint8Array) =>
  lp("vdc/v1/mp-keys", orgId, mpSignPk, mpBoxPk);

export const recovery = (org: string, deviceId: string, name: string, devSignPk: Uint8Array,
  devBoxPk: Uint8Array, nonce: Uint8Array, origin: string) =>
  lp("vdc/v1/recovery", org, deviceId, name, devSignPk, devBoxPk, nonce, origin);

export const revocation = (orgId: string, deviceId: string, revokedAt: string) =>
  lp("vdc/v1/device-revoke", orgId, deviceId, revokedAt);

export const inviteRedeem = (org: string, user: string, deviceId: string, name: string, devSignPk: Uint8Array,
  devBoxPk: Uint8Array, salt: Uint8Array, ops: number, mem: number, pkPw: Uint8Array, token: Uint8Array,
  nonce: Uint8Array, origin: string) =>
  lp("vdc/v1/invite-redeem", org, user, deviceId, name, devSignPk, devBoxPk, salt, ops, mem, pkPw, token, nonce,
    origin);
