import { describe, expect, it } from "vitest";
import { addMonths, daysBetween, parseCalendarDate, todayIn } from "../../../src/time/calendar-date.js";
import { addInterval, formatInterval, parseInterval } from "../../../src/time/interval.js";

const d = (s: string) => parseCalendarDate(s) ?? expect.fail(`bad date in test: ${s}`);

describe("calendar dates", () => {
  it("accepts real days only", () => {
    expect(parseCalendarDate("2024-02-29")).toBe("2024-02-29");
    expect(parseCalendarDate("2025-02-29")).toBeUndefined();
    expect(parseCalendarDate("2026-04-31")).toBeUndefined();
    expect(parseCalendarDate("2026-3-1")).toBeUndefined();
    expect(parseCalendarDate("2026-13-01")).toBeUndefined();
  });

  it("clamps month arithmetic to the month's end", () => {
    expect(addMonths(d("2025-08-31"), 6)).toBe("2026-02-28");
    expect(addMonths(d("2023-08-31"), 6)).toBe("2024-02-29");
    expect(addMonths(d("2026-01-31"), 1)).toBe("2026-02-28");
    expect(addMonths(d("2026-03-31"), 1)).toBe("2026-04-30");
    expect(addMonths(d("2026-11-15"), 2)).toBe("2027-01-15");
  });

  it("takes a leap day to Feb 28 twelve months later", () => {
    expect(addInterval(d("2024-02-29"), parseInterval("12 months")!)).toBe("2025-02-28");
    expect(addInterval(d("2024-02-29"), parseInterval("1 year")!)).toBe("2025-02-28");
    expect(addInterval(d("2024-02-29"), parseInterval("4 years")!)).toBe("2028-02-29");
  });

  it("adds days and weeks across month and year ends", () => {
    expect(addInterval(d("2026-12-25"), parseInterval("10 days")!)).toBe("2027-01-04");
    expect(addInterval(d("2026-02-20"), parseInterval("2 weeks")!)).toBe("2026-03-06");
    expect(daysBetween(d("2026-01-01"), d("2027-01-01"))).toBe(365);
    expect(daysBetween(d("2026-03-10"), d("2026-03-01"))).toBe(-9);
  });
});

describe("intervals", () => {
  it("parses and normalises", () => {
    expect(parseInterval("6 months")).toEqual({ count: 6, unit: "month" });
    expect(parseInterval("1 Year")).toEqual({ count: 1, unit: "year" });
    expect(parseInterval("90days")).toEqual({ count: 90, unit: "day" });
    expect(formatInterval(parseInterval("1 months")!)).toBe("1 month");
    expect(formatInterval(parseInterval("12 month")!)).toBe("12 months");
  });

  it("rejects what is not an interval", () => {
    for (const bad of ["six months", "0 days", "6 fortnights", "-1 month", "6", ""])
      expect(parseInterval(bad), bad).toBeUndefined();
  });
});

describe("the date in a time zone", () => {
  it("is the local date where the team reads the digest", () => {
    const instant = new Date("2026-11-25T23:30:00Z");
    expect(todayIn("UTC", instant)).toBe("2026-11-25");
    expect(todayIn("Asia/Tokyo", instant)).toBe("2026-11-26");
    expect(todayIn("America/Los_Angeles", instant)).toBe("2026-11-25");
  });
});
