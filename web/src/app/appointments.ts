// The practice client's Terminverwaltung (design/crypto.md §4.9, §4.10a as amended by §8a item 4), mirroring
// interfaces/client/appointments.py: patient data and every access code are sealed here; the server gets
// times, ciphertext and the codes' join tokens (slow to invert: Argon2id in a worker) only. Invitations
// (text, mailto: link, .ics) are composed here too, so the patient's e-mail address never reaches the server.
import {
  joinSecret, joinToken, newCode, openRecord, type PatientRecord, sealRecord, toHex,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api, ApiError } from "./api";
import type { Session } from "./client";

type Wire = {
  appointment_id: string; starts_at: string; ends_at: string; status: string; duration_minutes?: number;
  record: Parameters<typeof openRecord>[2]; consent?: Consent | null; reminder?: unknown;
  sms?: SmsSize | null;
};

export interface Consent { given_at: string; method: string; [key: string]: unknown }
export interface SmsSize { encoding: string; characters: number; segments: number; price_eur: number | string }

export const CONSENT_METHODS = ["schriftlich", "elektronisch", "mündlich"] as const;
export const EXTRA_PATIENT_SLOTS = ["patient-2", "patient-3"] as const;
export const MAX_PARTICIPANTS = 1 + EXTRA_PATIENT_SLOTS.length;
export const MSG_SMS_CONFERENCE = "Konferenz-Einladungen bitte per E-Mail oder persönlich übergeben: Der " +
  "Konferenzcode darf nicht über den Server laufen.";
export const MSG_NO_PHONE = "Für diesen Termin ist keine Telefonnummer hinterlegt.";
export const SMS_NOTICE = "Hinweis: Bei einer Einladung per SMS gelangen Telefonnummer und Zugangscode des " +
  "Patienten einmal über den Server zum SMS-Anbieter. Sie werden nicht gespeichert; der Schutz des Gesprächs " +
  "gegenüber dem Server beruht für diesen Termin darauf, dass er den Code vergisst.";

export interface Appointment {
  appointmentId: string;
  startsAt: Date;
  endsAt: Date;
  durationMinutes: number;
  status: string;
  patient: PatientRecord;
  consent: Consent | null;
  reminder: unknown;
  sms: SmsSize | null;
}

/** The patient slots of a record: ["patient"], or more in a conference. */
export function participants(patient: PatientRecord): string[] {
  return ["patient", ...EXTRA_PATIENT_SLOTS].filter((slot) => slot in patient.codes);
}

function opened(session: Session, data: Wire): Appointment {
  const startsAt = new Date(data.starts_at);
  const endsAt = new Date(data.ends_at);
  return {
    appointmentId: String(data.appointment_id), startsAt, endsAt,
    durationMinutes: data.duration_minutes || Math.round((endsAt.getTime() - startsAt.getTime()) / 60000),
    status: data.status, patient: openRecord(session.keyring, String(data.appointment_id), data.record),
    consent: data.consent ?? null, reminder: data.reminder ?? null, sms: data.sms ?? null,
  };
}

/** The practitioner's code and one per participant, all different (the server would refuse a repeat). */
function newCodes(count: number): Record<string, string> {
  const slots = ["practitioner", "patient", ...EXTRA_PATIENT_SLOTS.slice(0, count - 1)];
  const codes: Record<string, string> = {};
  for (const slot of slots) {
    let code = newCode();
    while (Object.values(codes).includes(code)) code = newCode(); // 2^-60
    codes[slot] = code;
  }
  return codes;
}

/** A conference's shared call code, never equal to a join code (the server knows their tokens); null for 1:1. */
function newCallCode(codes: Record<string, string>): string | null {
  if (Object.keys(codes).length <= 2) return null;
  let code = newCode();
  while (Object.values(codes).includes(code)) code = newCode();
  return code;
}

/** One Argon2id run per code (§8a.4), in the worker, with the overall progress. */
async function joinTokens(codes: Record<string, string>, onProgress?: Progress): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  const slots = Object.entries(codes);
  for (const [i, [slot, code]] of slots.entries()) {
    const secret = await joinSecret(code, argon2InWorker(onProgress && ((f) => onProgress((i + f) / slots.length))));
    tokens[slot] = toHex(joinToken(secret));
  }
  return tokens;
}

export interface NewAppointment {
  startsAt: Date;
  durationMinutes: number;
  name: string;
  email: string | null;
  phone: string | null;
  note: string | null;
  participants?: number;
  reminderMinutes?: number | null;
}

export async function addAppointment(session: Session, a: NewAppointment, onProgress?: Progress): Promise<Appointment> {
  const count = a.participants ?? 1;
  if (a.reminderMinutes != null && !a.phone) {
    throw new ApiError(400, "Für die SMS-Erinnerung fehlt die Telefonnummer.",
      { phone: ["Bitte eine Telefonnummer angeben."] });
  }
  const appointmentId = crypto.randomUUID();
  const codes = newCodes(count);
  const record = sealRecord(session.keyring, appointmentId, {
    name: a.name, email: a.email, phone: a.phone, note: a.note, codes, call_code: newCallCode(codes),
  });
  const data = await api<Wire>("POST", "/appointments", {
    appointment_id: appointmentId, starts_at: a.startsAt.toISOString(), duration_minutes: a.durationMinutes,
    record, join_tokens: await joinTokens(codes, onProgress),
    reminder: a.reminderMinutes != null ? { phone: a.phone, minutes_before: a.reminderMinutes } : null,
  }, true);
  return opened(session, data);
}

/** Every appointment of a Berlin day ("day=2026-12-02") or ISO week ("week=2026-W49"), opened locally. */
export async function listAppointments(session: Session, query: { day: string } | { week: string }):
  Promise<Appointment[]> {
  const [key, value] = "day" in query ? ["day", query.day] : ["week", query.week];
  const out: Appointment[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page: { items: Wire[]; next_offset: number | null } = await api("GET",
      `/appointments?${key}=${encodeURIComponent(value)}&limit=50&offset=${offset}`, undefined, true);
    out.push(...page.items.map((item) => opened(session, item)));
    offset = page.next_offset;
  }
  return out;
}

export const appointmentsOfDay = (session: Session, day: string) => listAppointments(session, { day });

export async function showAppointment(session: Session, appointmentId: string): Promise<Appointment> {
  return opened(session, await api<Wire>("GET", `/appointments/${encodeURIComponent(appointmentId)}`, undefined, true));
}

async function command(session: Session, appointmentId: string, name: string, body: unknown): Promise<Appointment> {
  return opened(session, await api<Wire>("POST", `/appointments/${encodeURIComponent(appointmentId)}/${name}`,
    body, true));
}

export const cancelAppointment = (session: Session, appointmentId: string) =>
  command(session, appointmentId, "cancel", {});

export const rescheduleAppointment = (session: Session, appointmentId: string, startsAt: Date,
  durationMinutes: number) =>
  command(session, appointmentId, "reschedule", { starts_at: startsAt.toISOString(), duration_minutes: durationMinutes });

export type PatientChanges = Partial<Pick<PatientRecord, "name" | "email" | "phone" | "note">>;

/** Name, e-mail, phone or note changed; re-encrypted under a fresh DEK from the record as it is now on the
 *  server, so the codes and any key this client does not know stay as they are (§8a item 3). */
export async function editAppointment(session: Session, appointmentId: string, changes: PatientChanges):
  Promise<Appointment> {
  const current = await showAppointment(session, appointmentId);
  return command(session, appointmentId, "record",
    { record: sealRecord(session.keyring, appointmentId, { ...current.patient, ...changes }) });
}

export const recordConsent = (session: Session, appointmentId: string, method: string, givenAt = new Date()) =>
  command(session, appointmentId, "consent", { given_at: givenAt.toISOString(), method });

/** New codes (and a new call code for a conference) in a re-encrypted record; the old ones stop working. */
export async function reissueCodes(session: Session, appointmentId: string, onProgress?: Progress):
  Promise<Appointment> {
  const current = await showAppointment(session, appointmentId);
  const codes = newCodes(participants(current.patient).length);
  const record = sealRecord(session.keyring, appointmentId,
    { ...current.patient, codes, call_code: newCallCode(codes) });
  return command(session, appointmentId, "codes", { record, join_tokens: await joinTokens(codes, onProgress) });
}

/** Plan plus. `preview` sends nothing and answers the SMS's size and price in `sms`; retrying with the same
 *  invitationId never sends or charges twice. */
export async function smsInvitation(session: Session, appointmentId: string, phone: string | null,
  invitationId: string, preview: boolean): Promise<Appointment> {
  const current = await showAppointment(session, appointmentId);
  if (current.patient.call_code) throw new ApiError(400, MSG_SMS_CONFERENCE);
  const number = phone || current.patient.phone;
  if (!number) throw new ApiError(400, MSG_NO_PHONE, { phone: ["Bitte eine Telefonnummer angeben."] });
  return command(session, appointmentId, "sms-invitations", {
    invitation_id: invitationId, phone: number, patient_code: current.patient.codes.patient, preview });
}

export async function requestReminder(session: Session, appointmentId: string, phone: string | null,
  minutesBefore: number): Promise<Appointment> {
  const number = phone || (await showAppointment(session, appointmentId)).patient.phone;
  if (!number) throw new ApiError(400, MSG_NO_PHONE, { phone: ["Bitte eine Telefonnummer angeben."] });
  return command(session, appointmentId, "reminder", { phone: number, minutes_before: minutesBefore });
}

/** As sms_size of the SDK: what an SMS costs, shown before it is sent (billed per segment). */
export function smsSize(sms: SmsSize): string {
  const price = Number(sms.price_eur).toFixed(2).replace(".", ",");
  return `${sms.characters} Zeichen (${sms.encoding}), ${sms.segments} ` +
    `${sms.segments === 1 ? "SMS-Segment" : "SMS-Segmente"}, ${price} EUR`;
}

// --- invitations: the SDK's invitation() and ics(), word for word -----------------------------------

const ZONE = "Europe/Berlin";
const WALL = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });

function wall(at: Date): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of WALL.formatToParts(at)) if (p.type !== "literal") out[p.type] = p.value;
  return out;
}

/** "02.12.2026 um 10:00 Uhr" in Berlin time. */
export function when(at: Date): string {
  const p = wall(at);
  return `${p.day}.${p.month}.${p.year} um ${p.hour}:${p.minute} Uhr`;
}

export interface Invitation { subject: string; body: string; mailto: string; ics: string }

export const MSG_NO_PARTICIPANT = "Diesen Teilnehmenden gibt es in diesem Termin nicht.";

/** E-mail text, mailto: link and iCalendar file for one participant ("patient", "patient-2", "patient-3"). The
 *  further participants' names and addresses are not in the record: pass them here. */
export function invitation(session: Session, appointment: Appointment, participant = "patient",
  name: string | null = null, email: string | null = null, origin = location.origin): Invitation {
  const practice = session.orgShort;
  const record = appointment.patient;
  if (!participants(record).includes(participant)) throw new ApiError(400, MSG_NO_PARTICIPANT);
  const code = record.codes[participant];
  const main = participant === "patient";
  const greeting = name || (main ? record.name : null);
  const address = email || (main ? record.email : null);
  const url = `${origin}/join`;
  const subject = `Ihre Videosprechstunde am ${when(appointment.startsAt)}`;
  const kind = record.call_code ? `Videosprechstunde (Konferenz mit ${participants(record).length} Teilnehmenden)`
    : "Videosprechstunde";
  let steps = `2. Geben Sie Ihren Zugangscode ein: ${code}\n`;
  if (record.call_code) {
    steps += `3. Geben Sie zusätzlich den Konferenzcode ein: ${record.call_code}\n` +
      "   (er schützt die Verbindung zwischen allen Teilnehmenden)\n";
  }
  const body = `Guten Tag${greeting ? " " + greeting : ""},\n\n` +
    `Ihre ${kind} bei ${practice} findet am ${when(appointment.startsAt)} statt ` +
    `(Dauer: ${appointment.durationMinutes} Minuten).\n\n` +
    "So nehmen Sie teil:\n" +
    `1. Öffnen Sie kurz vor dem Termin ${url}\n` +
    `${steps}\n` +
    "Sie brauchen kein Benutzerkonto und müssen nichts installieren. Der Zugangscode gilt ab 30 Minuten vor " +
    "dem Termin. Bitte geben Sie ihn nicht weiter.\n\n" +
    `Mit freundlichen Grüßen\n${practice}\n`;
  // Python's quote(): everything but letters, digits and "_.-~" (and "@" in the address) is percent-encoded.
  const quote = (s: string, safe = "") => Array.from(utf8Bytes(s)).map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.~-]/.test(c) || (b < 128 && safe.includes(c)) ? c
      : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }).join("");
  const mailto = `mailto:${quote(address ?? "", "@")}?subject=${quote(subject)}&body=${quote(body.replace(/\n/g, "\r\n"))}`;
  return { subject, body, mailto, ics: ics(appointment, practice, url, body) };
}

function utf8Bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

// RFC 5545 §3.3.11 text escaping and §3.1 folding at 75 octets (as the icalendar package writes them).
const escapeText = (s: string) => s.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,")
  .replace(/\r?\n/g, "\\n");

function fold(line: string): string {
  const out: string[] = [];
  let current = "";
  let size = 0;
  for (const ch of line) {
    const n = utf8Bytes(ch).length;
    if (size + n > (out.length ? 74 : 75)) {
      out.push(current);
      current = "";
      size = 0;
    }
    current += ch;
    size += n;
  }
  out.push(current);
  return out.join("\r\n ");
}

const localStamp = (at: Date) => {
  const p = wall(at);
  return `${p.year}${p.month}${p.day}T${p.hour}${p.minute}${p.second}`;
};
const utcStamp = (at: Date) => at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

// Europe/Berlin since 1996 (EU rules): the VTIMEZONE every calendar program resolves TZID=Europe/Berlin with.
const VTIMEZONE = [
  "BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
  "BEGIN:DAYLIGHT", "TZNAME:CEST", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
  "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT",
  "BEGIN:STANDARD", "TZNAME:CET", "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
  "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
  "END:VTIMEZONE",
];

/** The SDK's ics(): one event in Berlin time, the join address as location and URL, the invitation text. */
export function ics(appointment: Appointment, practice: string, url: string, description: string,
  now = new Date()): string {
  const lines = [
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sprechzimmer//Videosprechstunde//DE", "METHOD:PUBLISH",
    "BEGIN:VEVENT",
    `SUMMARY:${escapeText(`Videosprechstunde – ${practice}`)}`,
    `DTSTART;TZID=${ZONE}:${localStamp(appointment.startsAt)}`,
    `DTEND;TZID=${ZONE}:${localStamp(appointment.endsAt)}`,
    `DTSTAMP:${utcStamp(now)}`,
    `UID:${appointment.appointmentId}@sprechzimmer`,
    `DESCRIPTION:${escapeText(description)}`,
    `LOCATION:${escapeText(url)}`,
    `URL:${url}`,
    "END:VEVENT",
    ...VTIMEZONE,
    "END:VCALENDAR",
  ];
  return lines.map(fold).join("\r\n") + "\r\n";
}
