import type { AgeRow } from "./compute-age-report.js";
import { describeDue } from "./describe-age.js";

const COLUMNS = ["STATUS", "SECRET", "LAST ROTATION", "AGE", "POLICY", "DUE ON", "WHEN", "OWNER"] as const;

/** The terminal table of `rotabot age`. */
export function formatAgeTable(rows: readonly AgeRow[]): string {
  if (rows.length === 0) return "The manifest lists no secrets.";
  const cells = rows.map((row) => [
    row.status,
    row.key,
    row.last_rotation ?? "never",
    row.age_days === null ? "-" : `${row.age_days}d`,
    row.policy ?? "-",
    row.due_on ?? "-",
    describeDue(row),
    row.owner ?? "-",
  ]);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(COLUMNS), ...cells.map(line)].join("\n");
}
