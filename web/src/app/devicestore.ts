// The device key at rest (design/web.md fact 9, crypto.md §4.12): the device seed lives in IndexedDB,
// encrypted with a non-extractable WebCrypto AES-GCM key that is itself stored in IndexedDB. A script of
// this origin can use the key but never read it out, so the seed cannot be exfiltrated as bytes.

import { indexedStore } from "./idb";

const DB = "sprechzimmer";
const KEYS = "keys";
const DEVICES = "devices";
const WRAP_KEY_ID = "device-wrap";

/** What this browser knows about its device in one organisation (public parts in clear). */
export interface DeviceRecord {
  orgKey: string; // short-name key of the organisation
  orgId: string;
  deviceId: string;
  name: string;
  pinnedOrgSignPk: string | null; // hex; null until the first login after approval
  keyringVersion: number;
}

interface StoredDevice extends DeviceRecord {
  iv: Uint8Array<ArrayBuffer>;
  secrets: ArrayBuffer; // AES-GCM of {seed, pairing_code}
}

export interface DeviceSecrets {
  seed: string; // hex
  pairingCode: string | null; // shown on this screen until the device is approved
}

const run = indexedStore(DB, (db) => {
  db.createObjectStore(KEYS);
  db.createObjectStore(DEVICES, { keyPath: "orgKey" });
});

async function wrapKey(): Promise<CryptoKey> {
  const existing = await run<CryptoKey | undefined>(KEYS, "readonly", (s) => s.get(WRAP_KEY_ID));
  if (existing) return existing;
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  await run(KEYS, "readwrite", (s) => s.put(key, WRAP_KEY_ID));
  return key;
}

const aad = (record: DeviceRecord) => new TextEncoder().encode(`sprechzimmer-device|${record.orgKey}|${record.deviceId}`);

export async function saveDevice(record: DeviceRecord, secrets: DeviceSecrets): Promise<void> {
  const key = await wrapKey();
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(secrets));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(record) }, key, plain);
  const stored: StoredDevice = { ...record, iv, secrets: sealed };
  await run(DEVICES, "readwrite", (s) => s.put(stored));
}

/** Updates the public part only (pin, keyring version, name), keeping the sealed secrets. */
export async function updateDevice(record: DeviceRecord, secrets: DeviceSecrets): Promise<void> {
  await saveDevice(record, secrets);
}

export async function loadDevice(orgKey: string): Promise<{ record: DeviceRecord; secrets: DeviceSecrets } | null> {
  const stored = await run<StoredDevice | undefined>(DEVICES, "readonly", (s) => s.get(orgKey));
  if (!stored) return null;
  const { iv, secrets: sealed, ...record } = stored;
  const key = await wrapKey();
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad(record) }, key, sealed);
  return { record, secrets: JSON.parse(new TextDecoder().decode(plain)) as DeviceSecrets };
}

export async function forgetDevice(orgKey: string): Promise<void> {
  await run(DEVICES, "readwrite", (s) => s.delete(orgKey));
}

/** Asks the browser to keep this origin's storage (false in headless Chromium; never relied upon). */
export async function requestPersistence(): Promise<boolean> {
  try {
    return (await navigator.storage?.persist?.()) ?? false;
  } catch {
    return false;
  }
}
