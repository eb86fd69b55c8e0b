// Calendar arithmetic on Berlin dates ("2026-12-02"), which are plain calendar days: computed in UTC so the
// browser's own zone and DST never shift a day.
const DAY = 86_400_000;

const asUtc = (day: string) => {
  const [y, m, d] = day.split("-").map(Number);
  return Date.UTC(y, m - 1, d);
};
const asDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function addDays(day: string, n: number): string {
  return asDay(asUtc(day) + n * DAY);
}

/** Monday of the ISO week that holds the day. */
export function mondayOf(day: string): string {
  const weekday = (new Date(asUtc(day)).getUTCDay() + 6) % 7; // Monday = 0
  return addDays(day, -weekday);
}

/** The ISO week of a day as the API's week= expects it ("2026-W49"). */
export function isoWeek(day: string): string {
  const thursday = addDays(mondayOf(day), 3); // the ISO year is the year of the week's Thursday
  const year = Number(thursday.slice(0, 4));
  const week = Math.floor((asUtc(thursday) - asUtc(`${year}-01-01`)) / (7 * DAY)) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** Monday of ISO week `week` of `year` (week 1 holds 4 January). */
export function mondayOfIsoWeek(year: number, week: number): string {
  return addDays(mondayOf(`${year}-01-04`), 7 * (week - 1));
}

/** The seven days Monday to Sunday of the day's week. */
export function weekDays(day: string): string[] {
  const monday = mondayOf(day);
  return Array.from({ length: 7 }, (_, i) => addDays(monday, i));
}

const DAY_LABEL = new Intl.DateTimeFormat("de-DE", { timeZone: "UTC", weekday: "long", day: "numeric", month: "long",
  year: "numeric" });
const SHORT_LABEL = new Intl.DateTimeFormat("de-DE", { timeZone: "UTC", weekday: "short", day: "2-digit",
  month: "2-digit" });
const NUMERIC = new Intl.DateTimeFormat("de-DE", { timeZone: "UTC", day: "2-digit", month: "2-digit", year: "numeric" });

/** "Mittwoch, 2. Dezember 2026" */
export const dayLabel = (day: string) => DAY_LABEL.format(new Date(asUtc(day)));
/** "Mi., 02.12." */
export const shortDayLabel = (day: string) => SHORT_LABEL.format(new Date(asUtc(day)));
/** "02.12.2026" */
export const numericDay = (day: string) => NUMERIC.format(new Date(asUtc(day)));
