// "Sprechstunde starten" (issue 12 item 4): the practitioner never types a code. The practitioner code and
// the call code (the patient code in 1:1 calls, the conference's call code otherwise) come from the
// appointment's end-to-end encrypted record; the call screen lives at /sprechstunde/<appointment id>.
import { openRecord } from "../protocol/index";
import { api } from "./api";
import type { Appointment } from "./appointments";
import type { Session } from "./client";
import { navigate } from "./router";

// Appointments the practice just opened, so the call screen need not fetch and decrypt them again.
const opened = new Map<string, Appointment>();

/** Opens the call screen of an appointment (the button in the appointment's detail view calls this). */
export function startConsultation(appointment: Appointment): void {
  opened.set(appointment.appointmentId, appointment);
  navigate(`/sprechstunde/${encodeURIComponent(appointment.appointmentId)}`);
}

interface Wire {
  appointment_id: string;
  starts_at: string;
  ends_at: string;
  status: string;
  record: Parameters<typeof openRecord>[2];
}

/** The appointment of a call screen opened directly (a reload, a bookmark): fetched and decrypted here. */
export async function consultationAppointment(session: Session, appointmentId: string): Promise<Appointment> {
  const known = opened.get(appointmentId);
  if (known) return known;
  const data = await api<Wire>("GET", `/appointments/${encodeURIComponent(appointmentId)}`, undefined, true);
  const startsAt = new Date(data.starts_at);
  const endsAt = new Date(data.ends_at);
  const appointment: Appointment = {
    appointmentId: String(data.appointment_id), startsAt, endsAt,
    durationMinutes: Math.round((endsAt.getTime() - startsAt.getTime()) / 60000), status: data.status,
    patient: openRecord(session.keyring, String(data.appointment_id), data.record),
  };
  opened.set(appointmentId, appointment);
  return appointment;
}

export const MSG_NO_CODE = "Dieser Termin enthält keinen Praxiscode. Bitte die Zugangscodes des Termins neu ausstellen.";

/** The practitioner's own code and the code that keys the MACs, from the decrypted record. */
export function consultationCodes(appointment: Appointment): { code: string; callCode: string } {
  const codes = appointment.patient.codes ?? {};
  const code = codes.practitioner;
  const callCode = appointment.patient.call_code || codes.patient;
  if (!code || !callCode) throw new Error(MSG_NO_CODE);
  return { code, callCode };
}
