// The calendar's Berlin dates: ISO weeks as the API's week= expects them, across year ends and DST changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addDays, isoWeek, mondayOf, mondayOfIsoWeek, weekDays } from "../src/app/calendar";

test("ISO weeks as Python's date.isocalendar() counts them", () => {
  assert.equal(isoWeek("2026-12-01"), "2026-W49");
  assert.equal(isoWeek("2026-12-31"), "2026-W53");
  assert.equal(isoWeek("2027-01-03"), "2026-W53"); // a Sunday still in the old year's last week
  assert.equal(isoWeek("2027-01-04"), "2027-W01");
  assert.equal(isoWeek("2024-12-30"), "2025-W01"); // a Monday already in the new year's first week
  assert.equal(mondayOfIsoWeek(2025, 1), "2024-12-30");
  assert.equal(mondayOfIsoWeek(2026, 53), "2026-12-28");
});

test("weeks run Monday to Sunday, days step over DST changes", () => {
  assert.equal(mondayOf("2026-03-29"), "2026-03-23"); // the Sunday clocks go forward
  assert.deepEqual(weekDays("2026-10-25"), ["2026-10-19", "2026-10-20", "2026-10-21", "2026-10-22", "2026-10-23",
    "2026-10-24", "2026-10-25"]);
  assert.equal(addDays("2026-03-28", 1), "2026-03-29");
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
});
