// Interop driver for tests/web/test_protocol_interop.py: reads what the Python SDK made (a keyring grant for
// this "device", an appointment record), opens both with the TypeScript protocol, and answers with a record and
// a grant of its own for Python to open. JSON on stdin and stdout.
import { readFileSync } from "node:fs";
import {
  deviceKeys, fromHex, openGrant, openRecord, ready, sealRecord, type WireRecord,
} from "../src/protocol/index";

interface Input {
  device_seed: string;
  device_id: string;
  org_id: string;
  org_sign_pk: string;
  grant: { version: number; sealed: string; sig: string };
  appointment_id: string;
  record: WireRecord;
  reply_patient: { name: string; email: string | null; phone: string | null; note: string | null;
    codes: Record<string, string> };
  mp_box_pk: string;
}

await ready();
const input = JSON.parse(readFileSync(0, "utf8")) as Input;
const device = deviceKeys(fromHex(input.device_seed));
const keyring = openGrant(input.grant, input.org_id, input.device_id, fromHex(input.org_sign_pk), device.box, 1);
const opened = openRecord(keyring, input.appointment_id, input.record);
const record = sealRecord(keyring, input.appointment_id, input.reply_patient);
const grant = { version: keyring.version, ...keyring.grant("mp", fromHex(input.mp_box_pk)) };
let refused = "";
try {
  openRecord(keyring, "00000000-0000-4000-8000-000000000000", input.record);
} catch (error) {
  refused = (error as Error).message;
}
process.stdout.write(JSON.stringify({ opened, record, grant, refused }));
