// Dates a person sees are Europe/Berlin, whatever the browser's own zone (design/web.md fact 7).
const ZONE = "Europe/Berlin";
const PARTS = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });

function parts(at: Date): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of PARTS.formatToParts(at)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** Berlin's offset from UTC at that instant, in milliseconds. */
function offset(at: number): number {
  const p = parts(new Date(at));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}

/** The instant of a Berlin wall-clock time ("2026-12-02", "10:30"). */
export function fromBerlin(day: string, time: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  const [h, min] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, h, min);
  let at = wall - offset(wall);
  at = wall - offset(at); // again at the result: right on both sides of a DST change
  return new Date(at);
}

/** Today's date in Berlin as YYYY-MM-DD. */
export function berlinToday(now = new Date()): string {
  const p = parts(now);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

export const berlinTime = new Intl.DateTimeFormat("de-DE", { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
export const berlinDate = new Intl.DateTimeFormat("de-DE", { timeZone: ZONE, weekday: "long", day: "numeric",
  month: "long", year: "numeric" });
