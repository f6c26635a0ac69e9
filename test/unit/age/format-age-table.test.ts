import { describe, expect, it } from "vitest";
import { computeAgeReport, type AgeRow } from "../../../src/age/compute-age-report.js";
import { formatAgeTable, writeAgeJson, writeAgeTable } from "../../../src/age/format-age-table.js";
import type { ManifestEntry } from "../../../src/manifest/read-manifest.js";
import type { Runbook } from "../../../src/runbook/runbook-schema.js";
import type { CalendarDate } from "../../../src/time/calendar-date.js";

const runbook = { policies: { api_token: { every: "3 months" } } } as unknown as Runbook;
const entry = (i: number): ManifestEntry => ({
  key: `vault_service${String(i).padStart(6, "0")}_api_token`,
  category: "api_token",
  owner: `@team-${i % 17}`,
  lastRotation: i % 23 === 0 ? null : (`${2023 + (i % 4)}-0${1 + (i % 9)}-1${i % 9}` as CalendarDate),
  rotateEvery: null,
  description: null,
  line: i,
});
const rowsOf = (count: number) =>
  computeAgeReport(
    runbook,
    Array.from({ length: count }, (_, i) => entry(i)),
    {
      asOf: "2026-11-25" as CalendarDate,
      dueSoonDays: 30,
    },
  );

describe("the age table and JSON at scale", () => {
  it("writes 250,000 rows in bounded stack (the table died with 'Maximum call stack size exceeded' above ~150,000)", () => {
    const row: AgeRow = rowsOf(1)[0]!;
    const rows = Array.from({ length: 250_000 }, () => row);
    let lines = 0;
    let chunks = 0;
    writeAgeTable(rows, (text) => {
      chunks++;
      lines += text.split("\n").length - 1;
    });
    expect(lines).toBe(250_001);
    expect(chunks).toBeGreaterThan(10);
  });

  it("writes JSON exactly as JSON.stringify(rows, null, 2) would, in pieces", () => {
    for (const rows of [rowsOf(12_345), rowsOf(1), [] as AgeRow[]]) {
      let out = "";
      writeAgeJson(rows, (text) => (out += text));
      expect(out).toBe(`${JSON.stringify(rows, null, 2)}\n`);
    }
  });

  it("formats the same table as before for a few rows, and orders ties by key as localeCompare does", () => {
    const rows = rowsOf(50);
    const table = formatAgeTable(rows).split("\n");
    expect(table).toHaveLength(51);
    // Columns line up: every row's secret and owner start where the header's do.
    for (const title of ["SECRET", "OWNER"]) {
      const at = table[0]!.indexOf(title);
      for (const [i, line] of table.slice(1).entries())
        expect(line.slice(at).startsWith(title === "SECRET" ? rows[i]!.key : rows[i]!.owner!)).toBe(true);
    }
    const neverRotated = rows.filter((r) => r.status === "never_rotated").map((r) => r.key);
    expect(neverRotated).toEqual([...neverRotated].sort((a, b) => a.localeCompare(b)));
    expect(formatAgeTable([])).toBe("The manifest lists no secrets.");
  });
});
