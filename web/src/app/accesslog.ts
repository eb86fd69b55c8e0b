// The practice's access log (issue 14), mirroring interfaces/client/access_log.py: the server keeps every entry
// sealed to the organisation's box key and cannot read it; this browser opens it with the keyring.
import { fromHex, unseal } from "../protocol/index";
import { api } from "./api";
import type { Session } from "./client";

export interface AccessEntry {
  /** When the server recorded it (ISO 8601 with Berlin's offset). */
  at: string;
  kind: string;
  [detail: string]: string;
}

export const KINDS: Record<string, string> = {
  login: "Anmeldung", "device-request": "Gerät angefragt", "device-approval": "Gerät freigegeben",
  "recovery-failed": "Masterpasswort: Fehlversuch", "recovery-succeeded": "Masterpasswort: Anmeldung",
  "recovery-completed": "Masterpasswort: Gerät freigegeben", contract: "Vertrag",
  "call-join": "Sprechstunde betreten (Code)",
};

export const LABELS: Record<string, string> = {
  user: "Benutzer", device: "Gerät", ip: "Netz", by: "durch", change: "Änderung", appointment: "Termin",
  seat: "Platz",
};

const text = new TextDecoder();

/** The entries, newest first (the server's order). An entry that does not open is shown as "unlesbar" rather
 * than hiding the rest of the log. */
export async function readAccessLog(session: Session): Promise<AccessEntry[]> {
  const box = session.keyring.box; // crypto_box_seed_keypair(org_box_seed), §8a.1
  const { entries } = await api<{ entries: { at: string; sealed: string }[] }>("GET", "/access-log", undefined, true);
  return entries.map((item) => {
    let opened: Record<string, unknown>;
    try {
      opened = JSON.parse(text.decode(unseal(box, fromHex(item.sealed)))) as Record<string, unknown>;
    } catch {
      opened = { kind: "unlesbar" };
    }
    const entry: AccessEntry = { at: item.at, kind: String(opened.kind ?? "unlesbar") };
    // the sealed copy of the time is the same instant; the envelope's is the one the server sorts by
    for (const [key, value] of Object.entries(opened)) if (key !== "kind" && key !== "at") entry[key] = String(value);
    return entry;
  });
}
