import { addDays, addMonths, type CalendarDate } from "./calendar-date.js";

export const INTERVAL_UNITS = ["day", "week", "month", "year"] as const;
export type IntervalUnit = (typeof INTERVAL_UNITS)[number];

/** A rotation interval such as "6 months": calendar units for months and years, fixed days otherwise. */
export interface Interval {
  count: number;
  unit: IntervalUnit;
}

const INTERVAL_PATTERN = /^\s*(\d{1,4})\s*(day|week|month|year)s?\s*$/i;

/** Parses "N days|weeks|months|years" (singular accepted); undefined when it is not one. */
export function parseInterval(text: string): Interval | undefined {
  const match = INTERVAL_PATTERN.exec(text);
  if (!match) return undefined;
  const count = Number(match[1]);
  if (count < 1) return undefined;
  return { count, unit: match[2]!.toLowerCase() as IntervalUnit };
}

/** "6 months", "1 year": the form shown in reports and JSON. */
export function formatInterval({ count, unit }: Interval): string {
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

/** The day an interval after `date` falls on. */
export function addInterval(date: CalendarDate, { count, unit }: Interval): CalendarDate {
  switch (unit) {
    case "day":
      return addDays(date, count);
    case "week":
      return addDays(date, count * 7);
    case "month":
      return addMonths(date, count);
    case "year":
      return addMonths(date, count * 12);
  }
}
