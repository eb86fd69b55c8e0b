// The server's field rules with the server's German messages (interfaces/http/schemas.py, domain/values.py),
// checked as the user types. The server checks everything again; its messages win when they arrive.
import { passwordLength } from "../protocol/primitives";
import { shortNameProblem } from "../protocol/codes";

export const MSG_REQUIRED = "Dieses Feld ist erforderlich.";
export const MSG_POSTCODE = "Die PLZ muss aus fünf Ziffern bestehen (99999 für Adressen außerhalb Deutschlands).";
export const MSG_NINE_DIGITS = "Bitte genau neun Ziffern eingeben (999999999, falls noch keine Nummer vergeben ist).";
export const MSG_EMAIL = "Bitte eine gültige E-Mail-Adresse eingeben.";
export const MSG_PHONE = "Bitte eine gültige Telefonnummer eingeben.";
export const MSG_PASSWORD_LENGTH = "Das Passwort muss 8 bis 32 Zeichen lang sein.";
export const MSG_PASSWORD_TOO_LONG = "Das Passwort darf höchstens 32 Zeichen lang sein.";
export const MSG_PASSWORD_REPEAT = "Die Passwörter stimmen nicht überein.";
export const MSG_MASTER_WEAK =
  "Das Masterpasswort ist zu schwach: mindestens 12 Zeichen oder 4 Wörter, und nicht leicht zu erraten.";
export const MSG_MASTER_SAME = "Das Masterpasswort muss sich vom Passwort unterscheiden.";
export const MSG_IBAN = "Die IBAN ist ungültig (Prüfsumme oder Länge).";
export const MSG_BIC = "Der BIC ist ungültig.";
export const MSG_TOO_LONG = (n: number) => `Höchstens ${n} Zeichen.`;

export type Check = (value: string) => string | null;

export const required = (max: number): Check => (v) =>
  !v.trim() ? MSG_REQUIRED : v.length > max ? MSG_TOO_LONG(max) : null;
export const optional = (max: number, extra?: Check): Check => (v) =>
  !v ? null : v.length > max ? MSG_TOO_LONG(max) : extra ? extra(v) : null;

export const postcode: Check = (v) => (!v ? MSG_REQUIRED : /^\d{5}$/.test(v) ? null : MSG_POSTCODE);
export const nineDigits: Check = (v) => (/^\d{9}$/.test(v) ? null : MSG_NINE_DIGITS);
export const email: Check = (v) =>
  !v ? MSG_REQUIRED : /^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$/.test(v) && v.length <= 254 ? null : MSG_EMAIL;

/** A loose "possible number" check; the server's phonenumbers check is authoritative. */
export const phone: Check = (v) => {
  if (!v.trim()) return MSG_REQUIRED;
  const digits = v.replace(/\D/g, "");
  return /^\+?[\d\s()/.-]+$/.test(v.trim()) && digits.length >= 6 && digits.length <= 17 ? null : MSG_PHONE;
};

export const shortName: Check = (v) => (!v.trim() ? MSG_REQUIRED : shortNameProblem(v));

export const password: Check = (v) => {
  const n = passwordLength(v);
  return n > 32 ? MSG_PASSWORD_TOO_LONG : n < 8 ? MSG_PASSWORD_LENGTH : null;
};

/**
 * A rough strength estimate, 0–4, used only until zxcvbn (strength.ts, loaded on demand) is ready: the guessing
 * entropy from the character pools and length, discounting repeats and sequences.
 */
export function roughStrength(value: string): number {
  if (!value) return 0;
  const chars = [...value];
  let pool = 0;
  if (/[a-zäöüß]/.test(value)) pool += 30;
  if (/[A-ZÄÖÜ]/.test(value)) pool += 29;
  if (/\d/.test(value)) pool += 10;
  if (/[^A-Za-z0-9ÄÖÜäöüß]/.test(value)) pool += 33;
  let effective = 0;
  for (let i = 0; i < chars.length; i++) {
    const prev = chars[i - 1];
    const repeat = prev === chars[i];
    const sequence = prev !== undefined && Math.abs(chars[i].codePointAt(0)! - prev.codePointAt(0)!) === 1;
    effective += repeat || sequence ? 0.25 : 1;
  }
  const words = value.trim().split(/\s+/).filter(Boolean).length;
  const bits = Math.max(effective * Math.log2(Math.max(pool, 2)), words >= 4 ? words * 11 : 0);
  return bits >= 80 ? 4 : bits >= 60 ? 3 : bits >= 40 ? 2 : bits >= 25 ? 1 : 0;
}

/** Decision 1 of design/crypto.md §8, as the SDK checks it: ≥ 12 characters or ≥ 4 words, and zxcvbn ≥ 3. */
export function masterPasswordProblem(master: string, pw: string, score: (p: string) => number = roughStrength):
  string | null {
  if (master && master === pw) return MSG_MASTER_SAME;
  const longEnough = passwordLength(master) >= 12 || master.split(/\s+/).filter(Boolean).length >= 4;
  return !longEnough || score(master) < 3 ? MSG_MASTER_WEAK : null;
}

/** ISO 13616 check: country, check digits, mod 97 == 1 (the server also checks the length per country). */
export const iban: Check = (v) => {
  const compact = v.replace(/\s+/g, "").toUpperCase();
  if (!compact) return MSG_REQUIRED;
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return MSG_IBAN;
  if (compact.startsWith("DE") && compact.length !== 22) return MSG_IBAN;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rest = 0;
  for (const c of rearranged) {
    const n = c >= "A" ? String(c.charCodeAt(0) - 55) : c;
    for (const d of n) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1 ? null : MSG_IBAN;
};

export const bic: Check = (v) => {
  const compact = v.replace(/\s+/g, "").toUpperCase();
  if (!compact) return MSG_REQUIRED;
  return /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(compact) ? null : MSG_BIC;
};
