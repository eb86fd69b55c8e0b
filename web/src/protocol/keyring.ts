// The organisation keyring and its grants (design/crypto.md §2.3, §4.8, §8a items 1 and 11), mirroring
// Keyring/open_grant of interfaces/client/sdk.py. JSON keys of data_keys are strings, integers in every AAD.
import { equal, fromHex, fromUtf8, toHex, utf8 } from "./bytes";
import {
  boxKeyPair, type BoxKeyPair, randomBytes, seal, sign, signKeyPair, type SignKeyPair, unseal, verify,
} from "./primitives";
import * as t from "./transcripts";

export const MSG_TAMPERED =
  "Die Antwort des Servers ist nicht vertrauenswürdig (Signatur ungültig). Vorgang abgebrochen.";

/** The server handed out keys or grants that the organisation never signed. */
export class TamperingDetected extends Error {
  constructor(message = MSG_TAMPERED) {
    super(message);
    this.name = "TamperingDetected";
  }
}

export interface WireGrant {
  version?: number;
  sealed: string;
  sig: string;
}

export class Keyring {
  constructor(
    public version: number,
    public orgId: string,
    public orgSignSeed: Uint8Array,
    public orgBoxSeed: Uint8Array,
    public dataKeys: Map<number, Uint8Array>,
  ) {}

  static create(orgId: string): Keyring {
    return new Keyring(1, orgId, randomBytes(32), randomBytes(32), new Map([[1, randomBytes(32)]]));
  }

  get signing(): SignKeyPair {
    return signKeyPair(this.orgSignSeed);
  }

  get signPk(): Uint8Array {
    return this.signing.publicKey;
  }

  /** crypto_box_seed_keypair(org_box_seed): the seed is not the scalar (§8a item 1). */
  get box(): BoxKeyPair {
    return boxKeyPair(this.orgBoxSeed);
  }

  get boxPk(): Uint8Array {
    return this.box.publicKey;
  }

  /** The newest data key version: new records are sealed under it. */
  get newest(): number {
    return Math.max(...this.dataKeys.keys());
  }

  toJSON(): Uint8Array {
    const dataKeys: Record<string, string> = {};
    for (const [v, key] of [...this.dataKeys].sort((a, b) => a[0] - b[0])) dataKeys[String(v)] = toHex(key);
    return utf8(JSON.stringify({
      version: this.version, org_id: this.orgId, org_sign_seed: toHex(this.orgSignSeed),
      org_box_seed: toHex(this.orgBoxSeed), data_keys: dataKeys,
    }));
  }

  static fromJSON(raw: Uint8Array): Keyring {
    const d = JSON.parse(fromUtf8(raw)) as Record<string, unknown>;
    const keys = d.data_keys as Record<string, string>;
    if (typeof d.version !== "number" || typeof d.org_id !== "string" || typeof keys !== "object") {
      throw new TamperingDetected();
    }
    const dataKeys = new Map<number, Uint8Array>();
    for (const [v, hex] of Object.entries(keys)) {
      if (!/^[0-9]+$/.test(v)) throw new TamperingDetected();
      dataKeys.set(Number(v), fromHex(hex));
    }
    return new Keyring(d.version, d.org_id, fromHex(String(d.org_sign_seed)), fromHex(String(d.org_box_seed)),
      dataKeys);
  }

  grant(recipient: string, recipientBoxPk: Uint8Array): { sealed: string; sig: string } {
    const sealed = seal(recipientBoxPk, this.toJSON());
    const sig = sign(this.signing, t.grant(this.orgId, recipient, this.version, sealed));
    return { sealed: toHex(sealed), sig: toHex(sig) };
  }

  /** The org's signed statement of the newest version (§8a item 11), signed at every rotation. */
  head(rotatedAt: string): { version: number; rotated_at: string; sig: string } {
    const sig = sign(this.signing, t.keyringHead(this.orgId, this.version, rotatedAt));
    return { version: this.version, rotated_at: rotatedAt, sig: toHex(sig) };
  }
}

/** Verify before decrypting: the org signature, the pinned org key inside, and no rollback (§2.3). */
export function openGrant(grant: WireGrant, orgId: string, recipient: string, pinnedOrgSignPk: Uint8Array,
  boxKey: BoxKeyPair, minVersion: number): Keyring {
  const version = Number(grant.version);
  let keyring: Keyring;
  try {
    const sealed = fromHex(grant.sealed);
    if (!Number.isSafeInteger(version) || version < 1 ||
        !verify(pinnedOrgSignPk, t.grant(orgId, recipient, version, sealed), fromHex(grant.sig))) {
      throw new TamperingDetected();
    }
    keyring = Keyring.fromJSON(unseal(boxKey, sealed));
  } catch {
    throw new TamperingDetected();
  }
  if (!equal(keyring.signPk, pinnedOrgSignPk) || keyring.version !== version || version < minVersion ||
      keyring.orgId !== orgId) {
    throw new TamperingDetected();
  }
  return keyring;
}

export function verifyKeyringHead(orgSignPk: Uint8Array, orgId: string, version: number, rotatedAt: string,
  signature: Uint8Array): boolean {
  return verify(orgSignPk, t.keyringHead(orgId, version, rotatedAt), signature);
}
