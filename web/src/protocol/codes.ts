// Human codes (access, pairing, invite codes) and short names, as in infrastructure/crypto.py and
// domain/base.py (design/crypto.md §2.2, §8a item 2).
// Pure string functions (no libsodium), so that the small patient page can use them without the WASM.

export const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALIASES: Record<string, string> = { O: "0", I: "1", L: "1" };

/** 60 random bits (the top of 8 bytes) as 12 Crockford characters grouped XXXX-XXXX-XXXX. */
export function encodeCode(random8: Uint8Array): string {
  let n = 0n;
  for (const b of random8.subarray(0, 8)) n = (n << 8n) | BigInt(b);
  const bits = n >> 4n;
  let chars = "";
  for (let i = 0; i < 12; i++) chars += CROCKFORD[Number((bits >> BigInt(5 * (11 - i))) & 31n)];
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

/** Forgiving input: case-insensitive, hyphens and spaces ignored, O→0, I/L→1. Null if not a code. */
export function normaliseCode(text: string): string | null {
  const chars = [...text.toUpperCase()].filter((c) => !"- \t".includes(c)).map((c) => ALIASES[c] ?? c);
  if (chars.length !== 12 || chars.some((c) => !CROCKFORD.includes(c))) return null;
  return chars.join("");
}

export const MSG_SHORT_NAME =
  "Der Kurzname muss 2 bis 32 Zeichen lang sein (Buchstaben A–Z, Umlaute, ß, Ziffern, Punkt, Binde- oder Unterstrich).";

// The allowed characters of §8a item 2, checked after NFC so that a decomposed "ü" counts as one letter.
const SHORT_NAME = /^[A-Za-z0-9ÄÖÜäöüß._-]{2,32}$/u;

/** The key a short name is known by (§8a item 2), or null when the name is not allowed. */
export function shortNameKey(name: string): string | null {
  const trimmed = name.trim().normalize("NFC");
  if (!SHORT_NAME.test(trimmed)) return null;
  return trimmed.toLowerCase().replaceAll("ß", "ss");
}

/** The German message for a short name the server would refuse, or null when it is fine. */
export function shortNameProblem(name: string): string | null {
  return shortNameKey(name) === null ? MSG_SHORT_NAME : null;
}
