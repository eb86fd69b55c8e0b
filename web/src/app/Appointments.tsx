// Termine: the day and week calendar (Europe/Berlin), opened in the browser; new appointments, changes,
// consent, codes and invitations, whose patient data and access codes are encrypted here before anything is sent.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import {
  addAppointment, type Appointment, cancelAppointment, CONSENT_METHODS, editAppointment, invitation,
  listAppointments, MAX_PARTICIPANTS, participants, recordConsent, reissueCodes, requestReminder,
  rescheduleAppointment, SMS_NOTICE, smsInvitation, smsSize,
} from "./appointments";
import { berlinTime, berlinToday, fromBerlin } from "./berlin";
import { addDays, dayLabel, isoWeek, mondayOfIsoWeek, numericDay, shortDayLabel, weekDays } from "./calendar";
import type { Session } from "./client";
import { Alert, Field, Progress, Select } from "./components";
import { startConsultation } from "./consultation";
import { email as checkEmail, MSG_REQUIRED, phone as checkPhone } from "./validation";

const STATUS: Record<string, string> = { scheduled: "geplant", cancelled: "abgesagt" };
const SLOT_LABEL: Record<string, string> = {
  practitioner: "Zugangscode Behandler", patient: "Zugangscode Patient",
  "patient-2": "Zugangscode 2. Teilnehmende(r)", "patient-3": "Zugangscode 3. Teilnehmende(r)",
};
const REMINDER_CHOICES: [string, string][] = [
  ["15", "15 Minuten vorher"], ["30", "30 Minuten vorher"], ["60", "1 Stunde vorher"], ["120", "2 Stunden vorher"],
  ["1440", "1 Tag vorher"],
];
const DATE_TIME = new Intl.DateTimeFormat("de-DE", { timeZone: "Europe/Berlin", day: "2-digit", month: "2-digit",
  year: "numeric", hour: "2-digit", minute: "2-digit" });

/** The server's answer in German: its message, and per field what it said (keys as in the API). */
interface Failure { message: string; fields: Record<string, string> }

function failure(e: unknown): Failure {
  if (e instanceof ApiError) {
    const fields: Record<string, string> = {};
    for (const [key, messages] of Object.entries(e.errors)) fields[key] = messages.join(" ");
    return { message: e.detail, fields };
  }
  return { message: e instanceof Error ? e.message : String(e), fields: {} };
}

const durationProblem = (value: string) => {
  const n = Number(value);
  return Number.isInteger(n) && n >= 5 && n <= 480 ? null : "Die Dauer muss 5 bis 480 Minuten betragen.";
};
const dayProblem = (v: string) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? null : "Bitte ein Datum angeben.");
const timeProblem = (v: string) => (/^\d{2}:\d{2}$/.test(v) ? null : "Bitte eine Uhrzeit angeben.");
const optionalEmail = (v: string) => (v.trim() ? checkEmail(v.trim()) : null);
const optionalPhone = (v: string) => (v.trim() ? checkPhone(v) : null);

/** Form state with "touched" fields, so errors show as the user types, not before. */
function useForm(initial: Record<string, string>) {
  const [values, setValues] = useState(initial);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const set = (key: string) => (value: string) => {
    setValues((v) => ({ ...v, [key]: value }));
    setTouched((t) => ({ ...t, [key]: true }));
  };
  return { values, setValues, touched, setTouched, set };
}

function NewAppointmentForm({ session, day, onCreated }: { session: Session; day: string;
  onCreated: (a: Appointment) => void }) {
  const { values, setValues, touched, setTouched, set } = useForm({ day, time: "09:00", duration: "15",
    participants: "1" });
  const [error, setError] = useState<Failure | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  useEffect(() => setValues((current) => ({ ...current, day })), [day]); // follows the calendar's day
  const problems: Record<string, string | null> = {
    name: values.name?.trim() ? null : MSG_REQUIRED,
    day: dayProblem(values.day ?? ""),
    time: timeProblem(values.time ?? ""),
    duration: durationProblem(values.duration ?? ""),
    email: optionalEmail(values.email ?? ""),
    phone: values.reminder ? checkPhone(values.phone ?? "") : optionalPhone(values.phone ?? ""),
  };
  const server = error?.fields ?? {};
  const shown = (key: string, apiKey = key) => (touched[key] ? problems[key] : null) ?? server[apiKey] ?? null;

  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched({ name: true, day: true, time: true, duration: true, email: true, phone: true });
    if (Object.values(problems).some(Boolean)) return;
    setError(null);
    setProgress(0);
    try {
      onCreated(await addAppointment(session, {
        startsAt: fromBerlin(values.day, values.time), durationMinutes: Number(values.duration),
        name: values.name.trim(), email: values.email?.trim() || null, phone: values.phone?.trim() || null,
        note: values.note?.trim() || null, participants: Number(values.participants || "1"),
        reminderMinutes: values.reminder ? Number(values.reminder) : null,
      }, setProgress));
      setValues({ day: values.day, time: values.time, duration: values.duration, participants: "1" });
      setTouched({});
    } catch (e) {
      setError(failure(e));
    } finally {
      setProgress(null);
    }
  };

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="new-title">
      <h2 id="new-title">Neuer Termin</h2>
      <Field id="appt-day" label="Datum" type="date" value={values.day ?? ""} onInput={set("day")} required
        error={shown("day", "starts_at")} />
      <Field id="appt-time" label="Uhrzeit" type="time" value={values.time ?? ""} onInput={set("time")} required
        error={shown("time")} />
      <Field id="appt-duration" label="Dauer in Minuten" type="number" value={values.duration ?? ""}
        onInput={set("duration")} required error={shown("duration", "duration_minutes")} />
      <Field id="appt-name" label="Name des Patienten" value={values.name ?? ""} onInput={set("name")} required
        error={shown("name")} />
      <Field id="appt-email" label="E-Mail" type="email" value={values.email ?? ""} onInput={set("email")}
        error={shown("email")} />
      <Field id="appt-phone" label="Telefon" type="tel" value={values.phone ?? ""} onInput={set("phone")}
        error={shown("phone")} />
      <Field id="appt-note" label="Notiz" value={values.note ?? ""} onInput={set("note")} />
      <Select id="appt-participants" label="Teilnehmende (ohne Behandler)" value={values.participants ?? "1"}
        onInput={set("participants")} error={server.participants ?? server.join_tokens ?? null}
        options={Array.from({ length: MAX_PARTICIPANTS }, (_, i) =>
          [String(i + 1), i === 0 ? "1 (Einzeltermin)" : `${i + 1} (Konferenz, Tarif plus)`] as [string, string])} />
      <Select id="appt-reminder" label="SMS-Erinnerung (Tarif plus)" value={values.reminder ?? ""}
        onInput={set("reminder")} options={REMINDER_CHOICES} error={server.reminder ?? null} />
      <p class="hint">Name, Kontaktdaten, Notiz und Zugangscodes werden in diesem Browser verschlüsselt; der Server
        sieht nur die Uhrzeit.</p>
      {error && <Alert>{error.message}</Alert>}
      {progress !== null && <Progress value={progress} label="Zugangscodes werden gesichert …" />}
      <div class="actions"><button type="submit" disabled={progress !== null}>Termin anlegen</button></div>
    </form>
  );
}

function EditForm({ session, appointment, onDone }: { session: Session; appointment: Appointment;
  onDone: (a: Appointment | null) => void }) {
  const p = appointment.patient;
  const { values, touched, setTouched, set } = useForm({ name: p.name, email: p.email ?? "", phone: p.phone ?? "",
    note: p.note ?? "" });
  const [error, setError] = useState<Failure | null>(null);
  const problems: Record<string, string | null> = {
    name: values.name.trim() ? null : MSG_REQUIRED, email: optionalEmail(values.email),
    phone: optionalPhone(values.phone),
  };
  const shown = (key: string) => (touched[key] ? problems[key] : null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched({ name: true, email: true, phone: true });
    if (Object.values(problems).some(Boolean)) return;
    try {
      onDone(await editAppointment(session, appointment.appointmentId, {
        name: values.name.trim(), email: values.email.trim() || null, phone: values.phone.trim() || null,
        note: values.note.trim() || null,
      }));
    } catch (e) {
      setError(failure(e));
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="edit-title">
      <h3 id="edit-title">Patientendaten bearbeiten</h3>
      <Field id="edit-name" label="Name des Patienten" value={values.name} onInput={set("name")} required
        error={shown("name")} />
      <Field id="edit-email" label="E-Mail" type="email" value={values.email} onInput={set("email")}
        error={shown("email")} />
      <Field id="edit-phone" label="Telefon" type="tel" value={values.phone} onInput={set("phone")}
        error={shown("phone")} />
      <Field id="edit-note" label="Notiz" value={values.note} onInput={set("note")} />
      {error && <Alert>{error.message}</Alert>}
      <div class="actions">
        <button type="submit">Änderungen speichern</button>
        <button type="button" class="secondary" onClick={() => onDone(null)}>Abbrechen</button>
      </div>
    </form>
  );
}

function RescheduleForm({ session, appointment, onDone }: { session: Session; appointment: Appointment;
  onDone: (a: Appointment | null) => void }) {
  const { values, touched, setTouched, set } = useForm({ day: berlinToday(appointment.startsAt),
    time: berlinTime.format(appointment.startsAt), duration: String(appointment.durationMinutes) });
  const [error, setError] = useState<Failure | null>(null);
  const problems: Record<string, string | null> = {
    day: dayProblem(values.day), time: timeProblem(values.time), duration: durationProblem(values.duration),
  };
  const server = error?.fields ?? {};
  const shown = (key: string, apiKey: string) => (touched[key] ? problems[key] : null) ?? server[apiKey] ?? null;
  const submit = async (event: Event) => {
    event.preventDefault();
    setTouched({ day: true, time: true, duration: true });
    if (Object.values(problems).some(Boolean)) return;
    try {
      onDone(await rescheduleAppointment(session, appointment.appointmentId, fromBerlin(values.day, values.time),
        Number(values.duration)));
    } catch (e) {
      setError(failure(e));
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="move-title">
      <h3 id="move-title">Termin verschieben</h3>
      <Field id="move-day" label="Neues Datum" type="date" value={values.day} onInput={set("day")} required
        error={shown("day", "starts_at")} />
      <Field id="move-time" label="Neue Uhrzeit" type="time" value={values.time} onInput={set("time")} required
        error={shown("time", "starts_at")} />
      <Field id="move-duration" label="Dauer in Minuten" type="number" value={values.duration}
        onInput={set("duration")} required error={shown("duration", "duration_minutes")} />
      {error && <Alert>{error.message}</Alert>}
      <div class="actions">
        <button type="submit">Verschieben</button>
        <button type="button" class="secondary" onClick={() => onDone(null)}>Abbrechen</button>
      </div>
    </form>
  );
}

function download(filename: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Invitations({ session, appointment, onChanged }: { session: Session; appointment: Appointment;
  onChanged: (a: Appointment) => void }) {
  const slots = participants(appointment.patient);
  const [chosen, setSlot] = useState("patient");
  const slot = slots.includes(chosen) ? chosen : "patient";
  const [guest, setGuest] = useState({ name: "", email: "" });
  const [phone, setPhone] = useState(appointment.patient.phone ?? "");
  const [preview, setPreview] = useState<string | null>(null);
  const [invitationId, setInvitationId] = useState(() => crypto.randomUUID());
  const [minutes, setMinutes] = useState("60");
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<Failure | null>(null);
  const main = slot === "patient";
  const text = invitation(session, appointment, slot, main ? null : guest.name.trim() || null,
    main ? null : guest.email.trim() || null);
  const run = async (action: () => Promise<void>) => {
    setError(null);
    setMessage(null);
    try {
      await action();
    } catch (e) {
      setError(failure(e));
    }
  };
  return (
    <section aria-labelledby="invite-title">
      <h3 id="invite-title">Einladung</h3>
      {slots.length > 1 && (
        <>
          <Select id="invite-slot" label="Einladung für" value={slot} onInput={(v) => setSlot(v || "patient")}
            options={slots.map((s, i): [string, string] => [s, i === 0 ? appointment.patient.name : `${i + 1}. Teilnehmende(r)`])} />
          {!main && (
            <>
              <Field id="invite-name" label="Name der/des Teilnehmenden" value={guest.name}
                onInput={(v) => setGuest({ ...guest, name: v })} />
              <Field id="invite-email" label="E-Mail der/des Teilnehmenden" type="email" value={guest.email}
                onInput={(v) => setGuest({ ...guest, email: v })} error={optionalEmail(guest.email)} />
            </>
          )}
        </>
      )}
      <label for="invite-text">Einladungstext</label>
      <textarea id="invite-text" readOnly rows={12} cols={70} value={text.body} />
      <div class="actions">
        <a class="button" href={text.mailto}>Einladung per E-Mail</a>
        <button type="button" class="secondary"
          onClick={() => download(`termin-${appointment.appointmentId}.ics`, text.ics, "text/calendar")}>
          Kalenderdatei (.ics) herunterladen</button>
      </div>
      {main && (
        <>
          <h4>Einladung per SMS (Tarif plus)</h4>
          <p class="hint">{SMS_NOTICE}</p>
          <Field id="sms-phone" label="Telefonnummer für SMS" type="tel" value={phone}
            onInput={(v) => { setPhone(v); setPreview(null); }} error={error?.fields.phone ?? optionalPhone(phone)} />
          {preview && <p role="status">Die SMS: {preview}</p>}
          <div class="actions">
            <button type="button" class="secondary" onClick={() => run(async () => {
              const answer = await smsInvitation(session, appointment.appointmentId, phone.trim() || null,
                invitationId, true);
              setPreview(answer.sms ? smsSize(answer.sms) : "");
            })}>SMS-Kosten anzeigen</button>
            <button type="button" disabled={preview === null} onClick={() => run(async () => {
              const answer = await smsInvitation(session, appointment.appointmentId, phone.trim() || null,
                invitationId, false);
              setInvitationId(crypto.randomUUID()); // the next invitation is a new SMS; a retry of this one is not
              setPreview(null);
              setMessage(`SMS-Einladung versandt${answer.sms ? ": " + smsSize(answer.sms) : ""}.`);
              onChanged(answer);
            })}>SMS jetzt senden</button>
          </div>
          <h4>SMS-Erinnerung (Tarif plus)</h4>
          <Select id="reminder-minutes" label="Erinnerung" value={minutes} onInput={(v) => setMinutes(v || "60")}
            options={REMINDER_CHOICES} error={error?.fields.minutes_before ?? null} />
          <div class="actions">
            <button type="button" class="secondary" onClick={() => run(async () => {
              onChanged(await requestReminder(session, appointment.appointmentId, phone.trim() || null,
                Number(minutes)));
              setMessage("Die SMS-Erinnerung ist eingerichtet.");
            })}>Erinnerung anfordern</button>
          </div>
        </>
      )}
      {message && <p role="status">{message}</p>}
      {error && <Alert>{error.message}</Alert>}
    </section>
  );
}

function Detail({ session, appointment, onChanged }: { session: Session; appointment: Appointment;
  onChanged: (a: Appointment) => void }) {
  const [mode, setMode] = useState<"view" | "edit" | "move">("view");
  const [method, setMethod] = useState("");
  const [error, setError] = useState<Failure | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const p = appointment.patient;
  const scheduled = appointment.status === "scheduled";
  const run = async (action: () => Promise<void>) => {
    setError(null);
    setMessage(null);
    try {
      await action();
    } catch (e) {
      setError(failure(e));
    }
  };
  const done = (a: Appointment | null, text: string) => {
    setMode("view");
    if (a) {
      onChanged(a);
      setMessage(text);
    }
  };
  return (
    <section class="card" aria-labelledby="detail-title">
      <h2 id="detail-title">Termin mit {p.name}</h2>
      <dl class="summary">
        <dt>Beginn</dt><dd>{dayLabel(berlinToday(appointment.startsAt))}, {berlinTime.format(appointment.startsAt)} Uhr</dd>
        <dt>Dauer</dt><dd>{appointment.durationMinutes} Minuten</dd>
        <dt>E-Mail</dt><dd>{p.email || "nicht angegeben"}</dd>
        <dt>Telefon</dt><dd>{p.phone || "nicht angegeben"}</dd>
        <dt>Notiz</dt><dd>{p.note || "nicht angegeben"}</dd>
        {["practitioner", ...participants(p)].map((slot) => (
          <><dt>{SLOT_LABEL[slot] ?? slot}</dt><dd><code>{p.codes[slot]}</code></dd></>
        ))}
        {p.call_code && <><dt>Konferenzcode</dt><dd><code>{p.call_code}</code></dd></>}
        <dt>Einwilligung</dt>
        <dd>{appointment.consent ? `${appointment.consent.method}, erfasst am ${DATE_TIME.format(
          new Date(appointment.consent.given_at))} Uhr` : "noch nicht erfasst"}</dd>
        <dt>SMS-Erinnerung</dt><dd>{appointment.reminder ? "eingerichtet" : "keine"}</dd>
        <dt>Status</dt><dd>{STATUS[appointment.status] ?? appointment.status}</dd>
      </dl>
      {scheduled && mode === "view" && (
        <div class="actions">
          {/* The call screen hooks in here (consultation.ts). */}
          <button type="button" onClick={() => startConsultation(appointment)}>Sprechstunde starten</button>
          <button type="button" class="secondary" onClick={() => setMode("edit")}>Bearbeiten</button>
          <button type="button" class="secondary" onClick={() => setMode("move")}>Verschieben</button>
          <button type="button" class="secondary" disabled={progress !== null} onClick={() => run(async () => {
            if (!confirm("Neue Zugangscodes erzeugen? Die bisherigen Codes werden sofort ungültig; bereits "
              + "versandte Einladungen müssen neu verschickt werden.")) return;
            setProgress(0);
            try {
              onChanged(await reissueCodes(session, appointment.appointmentId, setProgress));
              setMessage("Neue Zugangscodes erzeugt. Bitte die Einladung erneut versenden.");
            } finally {
              setProgress(null);
            }
          })}>Neue Zugangscodes erzeugen</button>
          <button type="button" class="secondary" onClick={() => run(async () => {
            if (!confirm(`Den Termin mit ${p.name} absagen? Die Zugangscodes werden ungültig.`)) return;
            onChanged(await cancelAppointment(session, appointment.appointmentId));
          })}>Termin absagen</button>
        </div>
      )}
      {progress !== null && <Progress value={progress} label="Neue Zugangscodes werden gesichert …" />}
      {message && <p role="status">{message}</p>}
      {error && <Alert>{error.message}</Alert>}
      {mode === "edit" && <EditForm session={session} appointment={appointment}
        onDone={(a) => done(a, "Patientendaten gespeichert.")} />}
      {mode === "move" && <RescheduleForm session={session} appointment={appointment}
        onDone={(a) => done(a, "Termin verschoben.")} />}
      {scheduled && mode === "view" && (
        <>
          <form aria-labelledby="consent-title" onSubmit={(event) => {
            event.preventDefault();
            void run(async () => {
              if (!method) throw new ApiError(400, "Bitte eine Art der Einwilligung wählen.");
              onChanged(await recordConsent(session, appointment.appointmentId, method));
              setMessage("Einwilligung erfasst.");
            });
          }}>
            <h3 id="consent-title">Einwilligung</h3>
            <Select id="consent-method" label="Art der Einwilligung" value={method} onInput={setMethod}
              options={CONSENT_METHODS} error={error?.fields.method ?? null} />
            <div class="actions"><button type="submit" class="secondary">Einwilligung erfassen</button></div>
          </form>
          <Invitations key={appointment.patient.phone ?? ""} session={session} appointment={appointment}
            onChanged={onChanged} />
        </>
      )}
    </section>
  );
}

function Entry({ appointment, onSelect }: { appointment: Appointment; onSelect: (a: Appointment) => void }) {
  return (
    <button type="button" class="link" onClick={() => onSelect(appointment)}>{appointment.patient.name}</button>
  );
}

/** The day (and whether the week) asked for by ?day=2026-12-02 or ?week=2026-W49; else today. */
function initialView(): { day: string; week: boolean } {
  const query = new URLSearchParams(location.search);
  const day = query.get("day");
  if (day && /^\d{4}-\d{2}-\d{2}$/.test(day)) return { day, week: false };
  const week = /^(\d{4})-W(\d{2})$/.exec(query.get("week") ?? "");
  if (week) return { day: mondayOfIsoWeek(Number(week[1]), Number(week[2])), week: true };
  return { day: berlinToday(), week: false };
}

export function AppointmentsPage({ session }: { session: Session }) {
  const [view, setView] = useState<"day" | "week">(() => (initialView().week ? "week" : "day"));
  const [day, setDay] = useState(() => initialView().day);
  const [items, setItems] = useState<Appointment[] | null>(null);
  const [selected, setSelected] = useState<Appointment | null>(null);
  const [error, setError] = useState<string | null>(null);
  const query = view === "day" ? { day } : { week: isoWeek(day) };
  const week = weekDays(day);
  const shownDays = view === "day" ? [day] : week;
  // The calendar is a read model: after a change, read it again until it shows the change.
  const load = async (expect?: Appointment) => {
    try {
      for (let attempt = 0; ; attempt++) {
        const list = await listAppointments(session, query);
        const seen = expect && list.find((a) => a.appointmentId === expect.appointmentId);
        const current = !expect || (seen ? seen.startsAt.getTime() === expect.startsAt.getTime()
          && seen.status === expect.status && seen.patient.name === expect.patient.name
          : !shownDays.includes(berlinToday(expect.startsAt)));
        if (current || attempt >= 20) {
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
    setError(null);
    void load();
    // The shown day or week in the address (the API's own day=/week= form), so back/forward and a copied
    // address within the session come back to it.
    if (location.pathname === "/termine") {
      history.replaceState(null, "", `/termine?${view}=${view === "day" ? day : isoWeek(day)}`);
    }
  }, [day, view]);
  const step = view === "day" ? 1 : 7;
  const unit = view === "day" ? "Tag" : "Woche";
  const changed = (a: Appointment) => {
    setSelected(a);
    void load(a);
  };
  const heading = view === "day" ? dayLabel(day)
    : `${isoWeek(day).replace(/^(\d{4})-W0?(\d+)$/, "KW $2/$1")}: ${numericDay(week[0])} bis ${numericDay(week[6])}`;

  return (
    <>
      <h1>Termine</h1>
      <p>Angemeldet als {session.userShort} ({session.role === "admin" ? "Administrator" : "Mitarbeiter"}) bei{" "}
        {session.orgShort}.</p>
      <nav aria-label="Kalender" class="actions">
        <button type="button" class="secondary" aria-pressed={view === "day"} onClick={() => setView("day")}>
          Tagesansicht</button>
        <button type="button" class="secondary" aria-pressed={view === "week"} onClick={() => setView("week")}>
          Wochenansicht</button>
        <button type="button" class="secondary" onClick={() => setDay(addDays(day, -step))}>
          {view === "day" ? "Vorheriger Tag" : "Vorherige Woche"}</button>
        <button type="button" class="secondary" onClick={() => setDay(berlinToday())}>Heute</button>
        <button type="button" class="secondary" onClick={() => setDay(addDays(day, step))}>
          {view === "day" ? "Nächster Tag" : "Nächste Woche"}</button>
      </nav>
      <div class="field">
        <label for="calendar-day">Tag</label>
        <input id="calendar-day" type="date" value={day}
          onInput={(e) => { const v = (e.currentTarget as HTMLInputElement).value; if (v) setDay(v); }} />
      </div>
      <h2 aria-live="polite">{heading}</h2>
      {error && <Alert>{error}</Alert>}
      {items === null ? <p>Wird geladen …</p> : view === "day" ? (
        items.length === 0 ? <p>Keine Termine an diesem {unit}.</p> : (
          <table class="list">
            <caption class="visually-hidden">Termine des Tages</caption>
            <thead><tr><th scope="col">Uhrzeit</th><th scope="col">Dauer</th><th scope="col">Patient</th>
              <th scope="col">Status</th></tr></thead>
            <tbody>
              {items.map((a) => (
                <tr>
                  <td>{berlinTime.format(a.startsAt)}</td>
                  <td>{a.durationMinutes} Min.</td>
                  <td><Entry appointment={a} onSelect={setSelected} /></td>
                  <td>{STATUS[a.status] ?? a.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : (
        <div class="week">
          {week.map((d) => {
            const ofDay = items.filter((a) => berlinToday(a.startsAt) === d);
            return (
              <section aria-label={dayLabel(d)} class="week-day">
                <h3>{shortDayLabel(d)}</h3>
                {ofDay.length === 0 ? <p class="hint">keine Termine</p> : (
                  <ul>
                    {ofDay.map((a) => (
                      <li>{berlinTime.format(a.startsAt)} <Entry appointment={a} onSelect={setSelected} />
                        {a.status !== "scheduled" && ` (${STATUS[a.status] ?? a.status})`}</li>
                    ))}
                  </ul>
                )}
              </section>
            );
          })}
        </div>
      )}
      {/* keyed: another appointment starts with fresh forms, not the previous one's entries */}
      {selected && <Detail key={selected.appointmentId} session={session} appointment={selected}
        onChanged={changed} />}
      <NewAppointmentForm session={session} day={day} onCreated={changed} />
    </>
  );
}
