// The practice client's Terminverwaltung (design/crypto.md §4.9, §4.10a as amended by §8a item 4), mirroring
// interfaces/client/appointments.py: patient data and both access codes are sealed here; the server gets
// times, ciphertext and the codes' join tokens (slow to invert: Argon2id in a worker) only.
import {
  joinSecret, joinToken, newCode, openRecord, type PatientRecord, sealRecord, toHex,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { api } from "./api";
import type { components } from "./api-types";
import type { Session } from "./client";

type Wire = Pick<Required<components["schemas"]["Appointment"]>, "appointment_id" | "starts_at" | "ends_at" | "status">
  & { record: Parameters<typeof openRecord>[2] };

export interface Appointment {
  appointmentId: string;
  startsAt: Date;
  endsAt: Date;
  durationMinutes: number;
  status: string;
  patient: PatientRecord;
}

function opened(session: Session, data: Wire): Appointment {
  const startsAt = new Date(data.starts_at);
  const endsAt = new Date(data.ends_at);
  return {
    appointmentId: String(data.appointment_id), startsAt, endsAt,
    durationMinutes: Math.round((endsAt.getTime() - startsAt.getTime()) / 60000), status: data.status,
    patient: openRecord(session.keyring, String(data.appointment_id), data.record),
  };
}

export interface NewAppointment {
  startsAt: Date;
  durationMinutes: number;
  name: string;
  email: string | null;
  phone: string | null;
  note: string | null;
}

export async function addAppointment(session: Session, a: NewAppointment, onProgress?: Progress): Promise<Appointment> {
  const appointmentId = crypto.randomUUID();
  const practitioner = newCode();
  let patient = newCode();
  while (patient === practitioner) patient = newCode(); // 2^-60; the server would refuse a repeat
  const tokens: Record<string, string> = {};
  const codes = { practitioner, patient };
  const slots = Object.entries(codes);
  for (const [i, [slot, code]] of slots.entries()) {
    const secret = await joinSecret(code, argon2InWorker(onProgress && ((f) => onProgress((i + f) / slots.length))));
    tokens[slot] = toHex(joinToken(secret));
  }
  const record = sealRecord(session.keyring, appointmentId, {
    name: a.name, email: a.email, phone: a.phone, note: a.note, codes, call_code: null,
  });
  const data = await api<Wire>("POST", "/appointments", {
    appointment_id: appointmentId, starts_at: a.startsAt.toISOString(), duration_minutes: a.durationMinutes,
    record, join_tokens: tokens,
  }, true);
  return opened(session, data);
}

/** Every appointment of a Berlin day, opened locally (pages of 50). */
export async function appointmentsOfDay(session: Session, day: string): Promise<Appointment[]> {
  const out: Appointment[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page: { items: Wire[]; next_offset: number | null } = await api("GET",
      `/appointments?day=${encodeURIComponent(day)}&limit=50&offset=${offset}`, undefined, true);
    out.push(...page.items.map((item) => opened(session, item)));
    offset = page.next_offset;
  }
  return out;
}

export async function cancelAppointment(session: Session, appointmentId: string): Promise<Appointment> {
  return opened(session, await api<Wire>("POST", `/appointments/${encodeURIComponent(appointmentId)}/cancel`, {}, true));
}
