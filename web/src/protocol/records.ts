// End-to-end encrypted appointment records (design/crypto.md §2.3, §4.9, §8a item 3), mirroring
// seal_record/open_record of interfaces/client/appointments.py: a fresh DEK per record, wrapped under the
// newest data key, both bound by their AAD to the organisation and the appointment.
import { fromHex, fromUtf8, toHex, utf8 } from "./bytes";
import { lp } from "./encoding";
import { TamperingDetected, type Keyring } from "./keyring";
import { aeadDecrypt, aeadEncrypt, randomBytes } from "./primitives";

export const SCHEMA = 1;
export const FIELD = "patient";
export const MSG_RECORD_TAMPERED =
  "Die verschlüsselten Patientendaten dieses Termins sind nicht echt oder gehören zu einem anderen Termin. " +
  "Vorgang abgebrochen.";

export interface WireRecord {
  kver: number;
  wrapped_dek: string;
  ciphertext: string;
  schema: number;
}

/** The patient record; unknown keys are kept unchanged when re-encrypting (§8a item 3). */
export interface PatientRecord {
  name: string;
  email?: string | null;
  phone?: string | null;
  note?: string | null;
  codes: Record<string, string>;
  call_code?: string | null;
  [unknown: string]: unknown;
}

export const dekAad = (orgId: string, appointmentId: string, version: number) =>
  lp("vdc/v1/dek", orgId, appointmentId, version);

export const recordAad = (orgId: string, appointmentId: string, schema: number) =>
  lp("vdc/v1/appt", orgId, appointmentId, FIELD, schema);

export function sealRecord(keyring: Keyring, appointmentId: string, patient: PatientRecord): WireRecord {
  const version = keyring.newest;
  const dek = randomBytes(32);
  const wrapped = aeadEncrypt(keyring.dataKeys.get(version)!, dek, dekAad(keyring.orgId, appointmentId, version));
  const record = { email: null, phone: null, note: null, call_code: null, ...patient };
  const ciphertext = aeadEncrypt(dek, utf8(JSON.stringify(record)), recordAad(keyring.orgId, appointmentId, SCHEMA));
  return { kver: version, wrapped_dek: toHex(wrapped), ciphertext: toHex(ciphertext), schema: SCHEMA };
}

const OPTIONAL_STRINGS = ["email", "phone", "note", "call_code"] as const;

export function openRecord(keyring: Keyring, appointmentId: string, wire: WireRecord): PatientRecord {
  try {
    const version = Number(wire.kver);
    const dataKey = keyring.dataKeys.get(version);
    if (!dataKey) throw new Error("unknown key version");
    const dek = aeadDecrypt(dataKey, fromHex(wire.wrapped_dek), dekAad(keyring.orgId, appointmentId, version));
    const raw = aeadDecrypt(dek, fromHex(wire.ciphertext), recordAad(keyring.orgId, appointmentId, Number(wire.schema)));
    const record = JSON.parse(fromUtf8(raw)) as PatientRecord;
    // Known keys keep their types; a wrong type means the record was made up (§8a item 3).
    if (typeof record.name !== "string" || typeof record.codes !== "object" || record.codes === null) {
      throw new Error("bad record");
    }
    for (const key of OPTIONAL_STRINGS) {
      if (record[key] !== undefined && record[key] !== null && typeof record[key] !== "string") {
        throw new Error("bad record");
      }
    }
    return record;
  } catch {
    throw new TamperingDetected(MSG_RECORD_TAMPERED);
  }
}
