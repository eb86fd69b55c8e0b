// "Sprechstunde starten" (issue 12 item 4): the practitioner never types a code. The practitioner code and
// the call code (the patient code in 1:1 calls, the conference's call code otherwise) come from the
// appointment's end-to-end encrypted record; the call screen lives at /sprechstunde/<appointment id>.
import { type Appointment, showAppointment } from "./appointments";
import type { Session } from "./client";
import { navigate } from "./router";

// Appointments the practice just opened, so the call screen need not fetch and decrypt them again.
const opened = new Map<string, Appointment>();

/** Opens the call screen of an appointment (the button in the appointment's detail view calls this). */
export function startConsultation(appointment: Appointment): void {
  opened.set(appointment.appointmentId, appointment);
  navigate(`/sprechstunde/${encodeURIComponent(appointment.appointmentId)}`);
}

/** The appointment of a call screen opened directly (a reload, a bookmark): fetched and decrypted here. */
export async function consultationAppointment(session: Session, appointmentId: string): Promise<Appointment> {
  const known = opened.get(appointmentId);
  if (known) return known;
  const appointment = await showAppointment(session, appointmentId);
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
