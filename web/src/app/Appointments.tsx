// Termine: the appointments of a day (Europe/Berlin), opened in the browser, and a new appointment whose
// patient data and access codes are encrypted here before anything is sent.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import { addAppointment, type Appointment, appointmentsOfDay, cancelAppointment } from "./appointments";
import { berlinDate, berlinTime, berlinToday, fromBerlin } from "./berlin";
import type { Session } from "./client";
import { Alert, Field, Progress } from "./components";
import { email as checkEmail, MSG_REQUIRED } from "./validation";

const STATUS: Record<string, string> = { scheduled: "geplant", cancelled: "abgesagt" };

function NewAppointmentForm({ session, day, onCreated }: { session: Session; day: string;
  onCreated: (a: Appointment) => void }) {
  const [values, setValues] = useState<Record<string, string>>({ day, time: "09:00", duration: "15" });
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  useEffect(() => setValues((current) => ({ ...current, day })), [day]); // follows the calendar's day
  const set = (key: string) => (value: string) => {
    setValues({ ...values, [key]: value });
    setTouched({ ...touched, [key]: true });
  };
  const duration = Number(values.duration);
  const problems: Record<string, string | null> = {
    name: values.name?.trim() ? null : MSG_REQUIRED,
    day: /^\d{4}-\d{2}-\d{2}$/.test(values.day ?? "") ? null : "Bitte ein Datum angeben.",
    time: /^\d{2}:\d{2}$/.test(values.time ?? "") ? null : "Bitte eine Uhrzeit angeben.",
    duration: Number.isInteger(duration) && duration >= 5 && duration <= 480 ? null
      : "Die Dauer muss zwischen 5 und 480 Minuten liegen.",
    email: values.email ? checkEmail(values.email) : null,
  };
  const shown = (key: string) => (touched[key] ? problems[key] : null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched({ name: true, day: true, time: true, duration: true, email: true });
    if (Object.values(problems).some(Boolean)) return;
    setError(null);
    setProgress(0);
    try {
      onCreated(await addAppointment(session, {
        startsAt: fromBerlin(values.day, values.time), durationMinutes: duration, name: values.name.trim(),
        email: values.email?.trim() || null, phone: values.phone?.trim() || null, note: values.note?.trim() || null,
      }, setProgress));
      setValues({ day: values.day, time: values.time, duration: values.duration });
      setTouched({});
    } catch (e) {
      setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="new-title">
      <h2 id="new-title">Neuer Termin</h2>
      <Field id="appt-day" label="Datum" type="date" value={values.day ?? ""} onInput={set("day")} required
        error={shown("day")} />
      <Field id="appt-time" label="Uhrzeit" type="time" value={values.time ?? ""} onInput={set("time")} required
        error={shown("time")} />
      <Field id="appt-duration" label="Dauer in Minuten" type="number" value={values.duration ?? ""}
        onInput={set("duration")} required error={shown("duration")} />
      <Field id="appt-name" label="Name des Patienten" value={values.name ?? ""} onInput={set("name")} required
        error={shown("name")} />
      <Field id="appt-email" label="E-Mail" type="email" value={values.email ?? ""} onInput={set("email")}
        error={shown("email")} />
      <Field id="appt-phone" label="Telefon" type="tel" value={values.phone ?? ""} onInput={set("phone")} />
      <Field id="appt-note" label="Notiz" value={values.note ?? ""} onInput={set("note")} />
      <p class="hint">Name, Kontaktdaten, Notiz und Zugangscodes werden in diesem Browser verschlüsselt; der Server
        sieht nur die Uhrzeit.</p>
      {error && <Alert>{error}</Alert>}
      {progress !== null && <Progress value={progress} label="Zugangscodes werden gesichert …" />}
      <div class="actions"><button type="submit" disabled={progress !== null}>Termin anlegen</button></div>
    </form>
  );
}

export function AppointmentsPage({ session }: { session: Session }) {
  const [day, setDay] = useState(berlinToday());
  const [items, setItems] = useState<Appointment[] | null>(null);
  const [selected, setSelected] = useState<Appointment | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The calendar is a read model: after creating, read it again until it shows the new appointment.
  const load = async (which: string, expect?: string) => {
    try {
      for (let attempt = 0; ; attempt++) {
        const list = await appointmentsOfDay(session, which);
        if (!expect || list.some((a) => a.appointmentId === expect) || attempt >= 20) {
          setItems(list);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  useEffect(() => {
    setItems(null);
    void load(day);
  }, [day]);

  return (
    <>
      <h1>Termine</h1>
      <p>Angemeldet als {session.userShort} ({session.role === "admin" ? "Administrator" : "Mitarbeiter"}) bei{" "}
        {session.orgShort}.</p>
      <div class="field">
        <label for="calendar-day">Tag</label>
        <input id="calendar-day" type="date" value={day}
          onInput={(e) => { const v = (e.currentTarget as HTMLInputElement).value; if (v) setDay(v); }} />
      </div>
      <h2>{berlinDate.format(fromBerlin(day, "12:00"))}</h2>
      {error && <Alert>{error}</Alert>}
      {items === null ? <p>Wird geladen …</p> : items.length === 0 ? <p>Keine Termine an diesem Tag.</p> : (
        <table class="list">
          <caption class="visually-hidden">Termine des Tages</caption>
          <thead><tr><th scope="col">Uhrzeit</th><th scope="col">Dauer</th><th scope="col">Patient</th>
            <th scope="col">Status</th></tr></thead>
          <tbody>
            {items.map((a) => (
              <tr>
                <td>{berlinTime.format(a.startsAt)}</td>
                <td>{a.durationMinutes} Min.</td>
                <td><button type="button" class="link" onClick={() => setSelected(a)}>{a.patient.name}</button></td>
                <td>{STATUS[a.status] ?? a.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && (
        <section class="card" aria-labelledby="detail-title">
          <h2 id="detail-title">Termin mit {selected.patient.name}</h2>
          <dl class="summary">
            <dt>Beginn</dt><dd>{berlinDate.format(selected.startsAt)}, {berlinTime.format(selected.startsAt)} Uhr</dd>
            <dt>Dauer</dt><dd>{selected.durationMinutes} Minuten</dd>
            <dt>E-Mail</dt><dd>{selected.patient.email || "nicht angegeben"}</dd>
            <dt>Telefon</dt><dd>{selected.patient.phone || "nicht angegeben"}</dd>
            <dt>Notiz</dt><dd>{selected.patient.note || "nicht angegeben"}</dd>
            <dt>Zugangscode Behandler</dt><dd><code>{selected.patient.codes.practitioner}</code></dd>
            <dt>Zugangscode Patient</dt><dd><code>{selected.patient.codes.patient}</code></dd>
            <dt>Status</dt><dd>{STATUS[selected.status] ?? selected.status}</dd>
          </dl>
          {selected.status === "scheduled" && (
            <div class="actions">
              <button type="button" class="secondary" onClick={async () => {
                if (!confirm(`Den Termin mit ${selected.patient.name} absagen? Die Zugangscodes werden ungültig.`)) return;
                try {
                  const cancelled = await cancelAppointment(session, selected.appointmentId);
                  setSelected(cancelled);
                  void load(day);
                } catch (e) {
                  setError(e instanceof Error ? e.message : String(e));
                }
              }}>Termin absagen</button>
            </div>
          )}
        </section>
      )}
      <NewAppointmentForm session={session} day={day} onCreated={(a) => {
        setSelected(a);
        void load(day, a.appointmentId);
      }} />
    </>
  );
}
