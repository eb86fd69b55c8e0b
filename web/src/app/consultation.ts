// The place where the call screen starts (built by the call screen's work): for now it only opens its page.
// TODO(web-call): fill in — set up the consultation for this appointment before or after navigating.
import type { Appointment } from "./appointments";
import { navigate } from "./router";

export function startConsultation(appointment: Appointment): void {
  navigate(`/sprechstunde/${encodeURIComponent(appointment.appointmentId)}`);
}
