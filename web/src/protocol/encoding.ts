// lp(): the length-prefixed encoding of every signed or MACed message (design/crypto.md §2.2), mirroring
// application/protocol.py. Strings are UTF-8, integers u64be, bytes as they are; a UUID is passed as its
// lowercase string. Booleans are refused, as in Python, so a flag can never be confused with a number.
import { concat, utf8 } from "./bytes";

export type Field = string | Uint8Array | number | bigint;

function encodeField(field: Field): Uint8Array {
  if (typeof field === "string") return utf8(field);
  if (field instanceof Uint8Array) return field;
  if (typeof field === "number" || typeof field === "bigint") {
    if (typeof field === "number" && (!Number.isSafeInteger(field) || field < 0)) {
      throw new TypeError("lp(): integers must be non-negative safe integers");
    }
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(field));
    return out;
  }
  throw new TypeError(`lp(): fields of type ${typeof field} are not encoded`);
}

export function lp(...fields: Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const field of fields) {
    const bytes = encodeField(field);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, bytes.length);
    parts.push(length, bytes);
  }
  return concat(...parts);
}
