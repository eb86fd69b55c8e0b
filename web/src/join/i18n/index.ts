// One catalogue per language (issue 12 item 5). German is the default; the browser's language chooses
// another, and a visible switch changes it. All catalogues are small, so they ship with the page.
import { ar } from "./ar";
import { type Catalogue, de, type Key } from "./de";
import { en } from "./en";
import { pl } from "./pl";
import { ru } from "./ru";
import { tr } from "./tr";
import { uk } from "./uk";

export type { Key };
export const CATALOGUES: Record<string, Catalogue> = { de, en, tr, ar, ru, uk, pl };
export const LANGUAGES = Object.keys(CATALOGUES);
export const RTL = new Set(["ar"]);

export function browserLanguage(preferred: readonly string[] = navigator.languages ?? []): string {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0];
    if (base in CATALOGUES) return base;
  }
  return "de";
}

export function translate(lang: string, key: Key, values: Record<string, string> = {}): string {
  const text = (CATALOGUES[lang] ?? de)[key] ?? de[key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "");
}

/** An API or close code as a text of the catalogue; other codes fall back to the generic message. */
export function errorKey(code: number | undefined): Key {
  const key = `error.${code}` as Key;
  return key in de ? key : "error.generic";
}
