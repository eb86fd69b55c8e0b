// The registration wizard (SPEC §1, the seed's "Registrierung"): Organisation — Zugangsdaten —
// Rechnungsdaten (plus only) — Zusammenfassung. Fields are checked as the user types with the server's rules
// and messages; the server's own field errors are shown at the same fields when it refuses.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import { register, type RegistrationForm } from "./client";
import { Alert, Field, Progress, Select } from "./components";
import { navigate } from "./router";
import { loadScorer, type Scorer } from "./strength";
import * as v from "./validation";

const KINDS = ["Arztpraxis", "Zahnarztpraxis", "Psychotherapeutische Praxis", "Beratungsstelle", "MVZ", "Klinik",
  "Sonstige"] as const;
const SIZES: [string, string][] = [["1-5", "1-5 Mitarbeiter"], ["6-10", "6-10 Mitarbeiter"],
  ["11-50", "11-50 Mitarbeiter"], ["mehr als 50", "mehr als 50 Mitarbeiter"]];
const SALUTATIONS = ["Herr", "Frau", "divers/keine"] as const;
const PLANS: [string, string][] = [["basis", "basis (kostenlos)"], ["plus", "plus (kostenpflichtig)"]];

type Values = Record<string, string>;

interface Spec {
  key: string; // "section.field", as in the API body and the server's error keys
  label: string;
  check?: v.Check;
  type?: string;
  options?: readonly string[] | [string, string][];
  hint?: string;
  secret?: boolean;
  autocomplete?: string;
}

const STEP_ORGANISATION: Spec[] = [
  { key: "plan", label: "Tarif", options: PLANS, check: v.required(10) },
  { key: "organisation.name", label: "Name der Organisation", check: v.required(200), autocomplete: "organization" },
  { key: "organisation.kind", label: "Art der Organisation", options: KINDS, check: v.required(40) },
  { key: "organisation.size", label: "Größe der Organisation", options: SIZES, check: v.required(20) },
  { key: "organisation.specialty", label: "Fachrichtung", check: v.optional(100) },
  { key: "organisation.bsnr", label: "BSNR", check: v.optional(9, v.nineDigits), hint: "Neun Ziffern; 999999999, falls noch keine Nummer vergeben ist." },
  { key: "organisation.lanr", label: "LANR", check: v.optional(9, v.nineDigits), hint: "Neun Ziffern; 999999999, falls noch keine Nummer vergeben ist." },
  { key: "address.street", label: "Straße", check: v.required(100), autocomplete: "address-line1" },
  { key: "address.number", label: "Nr", check: v.required(10) },
  { key: "address.addition", label: "Adresszusatz", check: v.optional(100) },
  { key: "address.postcode", label: "PLZ", check: v.postcode, autocomplete: "postal-code" },
  { key: "address.city", label: "Ort", check: v.required(100), autocomplete: "address-level2" },
  { key: "organisation.vat_id", label: "USt-IdNr. (nur Praxen außerhalb Deutschlands)", check: v.optional(20),
    hint: "Mit Länderkennung, z. B. ATU13585627: Rechnungen an Praxen im Ausland (PLZ 99999) ohne deutsche Umsatzsteuer nennen sie." },
  { key: "main_user.salutation", label: "Anrede", options: SALUTATIONS, check: v.required(20) },
  { key: "main_user.title", label: "Titel", check: v.optional(30) },
  { key: "main_user.first_name", label: "Vorname", check: v.required(100), autocomplete: "given-name" },
  { key: "main_user.last_name", label: "Nachname", check: v.required(100), autocomplete: "family-name" },
  { key: "main_user.email", label: "E-Mail", check: v.email, type: "email", autocomplete: "email" },
  { key: "main_user.phone", label: "Telefon", check: v.phone, type: "tel", autocomplete: "tel" },
];

const STEP_CREDENTIALS: Spec[] = [
  { key: "credentials.org_short", label: "Kurzname der Organisation", check: v.shortName,
    hint: "Damit melden Sie sich später an. Er kann nach der Einrichtung nicht mehr geändert werden." },
  { key: "credentials.user_short", label: "Kurzname des Benutzers", check: v.shortName, autocomplete: "username" },
  { key: "secrets.password", label: "Passwort", type: "password", check: v.password, secret: true,
    hint: "8 bis 32 Zeichen.", autocomplete: "new-password" },
  { key: "secrets.password_repeat", label: "Passwort wiederholen", type: "password", secret: true,
    autocomplete: "new-password" },
  { key: "secrets.master_password", label: "Masterpasswort", type: "password", secret: true,
    hint: "Mindestens 12 Zeichen oder 4 Wörter, verschieden vom Passwort. Es stellt den Zugang wieder her, " +
      "wenn alle anderen Zugangsdaten verloren sind.", autocomplete: "new-password" },
  { key: "secrets.master_password_repeat", label: "Masterpasswort wiederholen", type: "password", secret: true,
    autocomplete: "new-password" },
  { key: "credentials.device_name", label: "Kurzname des Endgerätes", check: v.required(64),
    hint: "Dieses Gerät wird mit der Registrierung freigeschaltet, z. B. „Empfang“ oder „Sprechzimmer 1“." },
];

const STEP_BILLING: Spec[] = [
  { key: "billing.account_holder", label: "Kontoinhaber", check: v.required(70) },
  { key: "billing.iban", label: "IBAN", check: v.iban },
  { key: "billing.bic", label: "BIC", check: v.bic },
];

const BOXES = {
  "billing.sepa_mandate": "Ich erteile das SEPA-Lastschriftmandat.",
  "confirmations.avv_accepted": "Ich stimme dem Auftragsverarbeitungsvertrag zu.",
  "confirmations.credentials_noted":
    "Ich habe meine Zugangsdaten notiert und sicher aufbewahrt. Ohne sie kann der Zugang nicht wiederhergestellt werden.",
} as const;
const BOX_MESSAGES: Record<string, string> = {
  "billing.sepa_mandate": "Bitte das SEPA-Lastschriftmandat erteilen.",
  "confirmations.avv_accepted": "Bitte dem Auftragsverarbeitungsvertrag zustimmen.",
  "confirmations.credentials_noted": "Bitte bestätigen, dass Sie Ihre Zugangsdaten notiert haben.",
};

const fieldId = (key: string) => key.replace(/[._]/g, "-");

function crossChecks(values: Values, score: Scorer | null): Values {
  const errors: Values = {};
  const pw = values["secrets.password"] ?? "";
  const mp = values["secrets.master_password"] ?? "";
  if (values["secrets.password_repeat"] !== pw) errors["secrets.password_repeat"] = v.MSG_PASSWORD_REPEAT;
  const mpProblem = v.masterPasswordProblem(mp, pw, score ?? v.roughStrength);
  if (mpProblem) errors["secrets.master_password"] = mpProblem;
  if (values["secrets.master_password_repeat"] !== mp) errors["secrets.master_password_repeat"] = v.MSG_PASSWORD_REPEAT;
  return errors;
}

function validate(specs: Spec[], values: Values, boxes: string[], checked: Record<string, boolean>,
  score: Scorer | null): Values {
  const errors: Values = {};
  for (const spec of specs) {
    const problem = spec.check?.(values[spec.key] ?? "");
    if (problem) errors[spec.key] = problem;
  }
  if (specs === STEP_CREDENTIALS) Object.assign(errors, crossChecks(values, score));
  for (const box of boxes) if (!checked[box]) errors[box] = BOX_MESSAGES[box];
  return errors;
}

/** The API body without secrets; empty optional fields travel as null. */
function toForm(values: Values, checked: Record<string, boolean>): RegistrationForm {
  const form: Record<string, Record<string, unknown> | string | null> = { plan: values.plan };
  const specs = [...STEP_ORGANISATION, ...STEP_CREDENTIALS, ...(values.plan === "plus" ? STEP_BILLING : [])];
  for (const spec of specs) {
    const [section, field] = spec.key.split(".");
    if (!field || section === "secrets") continue;
    const value = (values[spec.key] ?? "").trim();
    ((form[section] ??= {}) as Record<string, unknown>)[field] = value || null;
  }
  form.confirmations = { avv_accepted: !!checked["confirmations.avv_accepted"],
    credentials_noted: !!checked["confirmations.credentials_noted"] };
  form.billing = values.plan === "plus"
    ? { ...(form.billing as Record<string, unknown>), sepa_mandate: !!checked["billing.sepa_mandate"] } : null;
  return form as unknown as RegistrationForm;
}

const STRENGTH = ["sehr schwach", "schwach", "mittel", "stark", "sehr stark"];

export function RegisterPage() {
  const [values, setValues] = useState<Values>({ plan: "basis" });
  const [checked, setChecked] = useState<Record<string, boolean>>({});
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [serverErrors, setServerErrors] = useState<Values>({});
  const [step, setStep] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [done, setDone] = useState<{ org: string; user: string; device: string; mandate: string | null } | null>(null);
  const [score, setScore] = useState<Scorer | null>(null);
  useEffect(() => {
    // The rough estimate stands in until zxcvbn has loaded (and, should it fail to load, for good).
    loadScorer().then((scorer) => setScore(() => scorer), () => setScore(() => v.roughStrength));
  }, []);

  const plus = values.plan === "plus";
  const steps: [string, Spec[], string[]][] = [
    ["Organisation", STEP_ORGANISATION, []],
    ["Zugangsdaten", STEP_CREDENTIALS, []],
    ...(plus ? [["Rechnungsdaten", STEP_BILLING, ["billing.sepa_mandate"]] as [string, Spec[], string[]]] : []),
    ["Zusammenfassung", [], ["confirmations.avv_accepted", "confirmations.credentials_noted"]],
  ];
  const [title, specs, boxes] = steps[Math.min(step, steps.length - 1)];
  const errors = validate(specs, values, boxes, checked, score);
  const strength = (p: string) => (score ?? v.roughStrength)(p);
  const shown = (key: string) => serverErrors[key] ?? (touched[key] ? errors[key] : undefined);

  const set = (key: string, value: string) => {
    setValues({ ...values, [key]: value });
    setTouched({ ...touched, [key]: true });
    const { [key]: _, ...rest } = serverErrors;
    setServerErrors(rest);
  };

  const next = (event: Event) => {
    event.preventDefault();
    const all = Object.fromEntries([...specs.map((s) => s.key), ...boxes].map((k) => [k, true]));
    setTouched({ ...touched, ...all });
    if (title === "Zugangsdaten" && score === null) return; // wait for the real strength check
    if (Object.keys(errors).length) {
      document.getElementById(fieldId(Object.keys(errors)[0]))?.focus();
      return;
    }
    if (step < steps.length - 1) {
      setStep(step + 1);
      window.scrollTo(0, 0);
    } else void submit();
  };

  const submit = async () => {
    setError(null);
    setProgress(0);
    try {
      const form = toForm(values, checked);
      const result = await register(form, values["secrets.password"], values["secrets.master_password"], setProgress);
      setDone({ org: result.org_short, user: result.user_short, device: form.credentials.device_name,
        mandate: result.mandate_reference });
    } catch (e) {
      if (e instanceof ApiError) {
        setError(e.detail);
        setServerErrors(Object.fromEntries(Object.entries(e.errors).map(([k, m]) => [k, m.join(" ")])));
        // Go back to the first step that holds a refused field.
        const first = steps.findIndex(([, s, b]) => Object.keys(e.errors).some(
          (k) => s.some((spec) => spec.key === k) || b.includes(k)));
        if (first >= 0) setStep(first);
      } else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };

  if (done) {
    return (
      <>
        <h1>Registrierung abgeschlossen</h1>
        <section class="card" aria-labelledby="sheet-title">
          <h2 id="sheet-title">Ihre Zugangsdaten</h2>
          <p>Bitte drucken oder notieren Sie diese Angaben und bewahren Sie sie an einem sicheren Ort auf.
            Passwort und Masterpasswort stehen hier bewusst nicht.</p>
          <dl class="summary">
            <dt>Kurzname der Organisation</dt><dd>{done.org}</dd>
            <dt>Kurzname des Benutzers</dt><dd>{done.user}</dd>
            <dt>Kurzname des Endgerätes</dt><dd>{done.device}</dd>
            {done.mandate && <><dt>Mandatsreferenz</dt><dd>{done.mandate}</dd></>}
          </dl>
          <div class="actions">
            <button type="button" class="secondary" onClick={() => window.print()}>Drucken</button>
            <button type="button" onClick={() => navigate(
              `/anmelden?org=${encodeURIComponent(done.org)}&user=${encodeURIComponent(done.user)}`)}>
              Zur Anmeldung</button>
          </div>
        </section>
      </>
    );
  }

  return (
    <>
      <h1>Registrierung – Sprechzimmer {plus ? "plus" : "basis"}</h1>
      <ol class="steps" aria-label="Schritte">
        {steps.map(([name], i) => (
          <li aria-current={i === step ? "step" : undefined}>{i + 1} {name}</li>
        ))}
      </ol>
      <form class="card" onSubmit={next} noValidate>
        <h2>Schritt {step + 1}: {title}</h2>
        {title === "Zugangsdaten" && (
          <p class="notice">Wichtig: Wir können Ihre Zugangsdaten NICHT wiederherstellen. Wenn Sie Ihre
            Zugangsdaten verlieren oder vergessen, hilft nur das Masterpasswort.</p>
        )}
        {title === "Rechnungsdaten" && (
          <p class="hint">Der Tarif plus wird per SEPA-Lastschrift abgerechnet. Die Mandatsreferenz erhalten Sie mit
            der Bestätigung der Registrierung.</p>
        )}
        {specs.map((spec) => spec.options
          ? <Select id={fieldId(spec.key)} label={spec.label} value={values[spec.key] ?? ""} options={spec.options}
            required={!!spec.check} error={shown(spec.key)} onInput={(x) => set(spec.key, x)} />
          : (
            <>
              <Field id={fieldId(spec.key)} label={spec.label} type={spec.type} value={values[spec.key] ?? ""}
                required={spec.secret || (spec.check?.("") ?? null) !== null}
                error={shown(spec.key)} hint={spec.hint} autocomplete={spec.autocomplete}
                onInput={(x) => set(spec.key, x)} />
              {spec.key === "secrets.master_password" && values[spec.key] && (
                <p class="hint" id="strength">Stärke: <meter min={0} max={4} low={2} high={3} optimum={4}
                  value={strength(values[spec.key])} aria-label="Stärke des Masterpassworts" />{" "}
                  {STRENGTH[strength(values[spec.key])]}</p>
              )}
            </>
          ))}
        {title === "Zusammenfassung" && <Summary values={values} />}
        {boxes.map((box) => (
          <div class="field">
            <label>
              <input type="checkbox" checked={!!checked[box]} aria-invalid={shown(box) ? "true" : "false"}
                aria-describedby={shown(box) ? `${fieldId(box)}-error` : undefined} id={fieldId(box)}
                onChange={(e) => {
                  setChecked({ ...checked, [box]: (e.currentTarget as HTMLInputElement).checked });
                  setTouched({ ...touched, [box]: true });
                }} /> {BOXES[box as keyof typeof BOXES]}
            </label>
            {shown(box) && <p id={`${fieldId(box)}-error`} class="field-error">{shown(box)}</p>}
          </div>
        ))}
        {error && <Alert>{error}</Alert>}
        {progress !== null && <Progress value={progress} label="Schlüssel werden abgeleitet …" />}
        <div class="actions">
          {step > 0 && <button type="button" class="secondary" onClick={() => setStep(step - 1)}>Zurück</button>}
          {title === "Zusammenfassung" && (
            <button type="button" class="secondary" onClick={() => window.print()}>Übersicht drucken</button>
          )}
          <button type="submit" disabled={progress !== null}>
            {title === "Zusammenfassung" ? "Registrieren" : "Weiter"}</button>
        </div>
      </form>
    </>
  );
}

function Summary({ values }: { values: Values }) {
  const plus = values.plan === "plus";
  const specs = [...STEP_ORGANISATION, ...STEP_CREDENTIALS, ...(plus ? STEP_BILLING : [])];
  return (
    <dl class="summary">
      {specs.map((spec) => {
        const value = values[spec.key] ?? "";
        const label = spec.options?.find((o) => (Array.isArray(o) ? o[0] : o) === value);
        const shown = spec.secret ? "••••••••" : !value.trim() ? "nicht angegeben"
          : Array.isArray(label) ? label[1] : value;
        return <><dt>{spec.label}</dt><dd>{shown}</dd></>;
      })}
    </dl>
  );
}
