import { useState } from "preact/hooks";
// Small accessible building blocks: every input has a label, its error is tied to it with
// aria-describedby and announced; progress of key derivations is visible and announced.
import type { ComponentChildren } from "preact";

export interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  error?: string | null;
  hint?: string;
  type?: string;
  required?: boolean;
  autocomplete?: string;
}

export function Field({ id, label, value, onInput, error, hint, type = "text", required, autocomplete }: FieldProps) {
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{label}{required ? " *" : ""}</label>
      <input id={id} name={id} type={type} value={value} autocomplete={autocomplete ?? "off"}
        aria-required={required ? "true" : undefined} aria-invalid={error ? "true" : "false"}
        aria-describedby={describedBy}
        onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)} />
      {error ? <p id={`${id}-error`} class="field-error">{error}</p>
        : hint ? <p id={`${id}-hint`} class="hint">{hint}</p> : null}
    </div>
  );
}

export interface SelectProps {
  id: string;
  label: string;
  value: string;
  options: readonly string[] | readonly [string, string][];
  onInput: (value: string) => void;
  error?: string | null;
  required?: boolean;
}

export function Select({ id, label, value, options, onInput, error, required }: SelectProps) {
  return (
    <div class="field">
      <label for={id}>{label}{required ? " *" : ""}</label>
      <select id={id} name={id} value={value} aria-invalid={error ? "true" : "false"}
        aria-describedby={error ? `${id}-error` : undefined}
        onInput={(e) => onInput((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">Bitte wählen</option>
        {options.map((o) => {
          const [v, text] = Array.isArray(o) ? o : [o, o];
          return <option value={v}>{text}</option>;
        })}
      </select>
      {error && <p id={`${id}-error`} class="field-error">{error}</p>}
    </div>
  );
}

export function Progress({ value, label }: { value: number; label: string }) {
  return (
    <div role="status" aria-live="polite">
      <label for="derive-progress">{label}</label>
      <progress id="derive-progress" max={100} value={Math.round(value * 100)}>{Math.round(value * 100)} %</progress>
    </div>
  );
}

/** A new device's pairing code, shown until an approved device enters it; `children` say where to enter it. */
export function PairingCodeCard({ code, children }: { code: string; children: ComponentChildren }) {
  return (
    <>
      <h1>Freischaltung dieses Geräts</h1>
      <section class="card" aria-labelledby="code-title">
        <h2 id="code-title">Kopplungscode</h2>
        <p class="pairing-code"><output id="pairing-code" aria-label="Kopplungscode">{code}</output></p>
        {children}
      </section>
    </>
  );
}

export function Alert({ children }: { children: ComponentChildren }) {
  return <div class="alert" role="alert">{children}</div>;
}

/** A form's values, which fields were touched, and the server's per-field errors: typing into a field marks
 * it touched and clears the server's error for it; `shownFor(problems)` gives the message to show per field. */
export function useFields(initial: Record<string, string> = {}) {
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const set = (key: string) => (value: string) => {
    setValues({ ...values, [key]: value });
    setTouched({ ...touched, [key]: true });
    const { [key]: _, ...rest } = errors;
    setErrors(rest);
  };
  const shownFor = (problems: Record<string, string | null>) => (key: string) =>
    errors[key] ?? (touched[key] ? problems[key] : null);
  return { values, setValues, setTouched, setErrors, set, shownFor };
}
