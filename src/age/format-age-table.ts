import type { AgeRow } from "./compute-age-report.js";
import { describeDue } from "./describe-age.js";

const COLUMNS = ["STATUS", "SECRET", "LAST ROTATION", "AGE", "POLICY", "DUE ON", "WHEN", "OWNER"] as const;

/** Rows per chunk handed to `write`: output of a million-entry manifest goes out piece by piece. */
const CHUNK_ROWS = 5_000;

function cellsOf(row: AgeRow): string[] {
  return [
    row.status,
    row.key,
    row.last_rotation ?? "never",
    row.age_days === null ? "-" : `${row.age_days}d`,
    row.policy ?? "-",
    row.due_on ?? "-",
    describeDue(row),
    row.owner ?? "-",
  ];
}

/**
 * Writes the terminal table of `rotabot age` through `write`, a few thousand lines at a time: the
 * column widths are found in one loop (never by spreading every row into one call, which overflows
 * the stack near 150,000 rows), and no string holds the whole table.
 */
export function writeAgeTable(rows: readonly AgeRow[], write: (text: string) => void): void {
  if (rows.length === 0) {
    write("The manifest lists no secrets.\n");
    return;
  }
  const widths: number[] = COLUMNS.map((title) => title.length);
  for (const row of rows) {
    const cells = cellsOf(row);
    for (let i = 0; i < cells.length; i++) if (cells[i]!.length > widths[i]!) widths[i] = cells[i]!.length;
  }
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  write(`${line(COLUMNS)}\n`);
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const end = Math.min(rows.length, start + CHUNK_ROWS);
    let chunk = "";
    for (let i = start; i < end; i++) chunk += `${line(cellsOf(rows[i]!))}\n`;
    write(chunk);
  }
}

/** The terminal table of `rotabot age` as one string (for a chat document; rows a chat can hold). */
export function formatAgeTable(rows: readonly AgeRow[]): string {
  const parts: string[] = [];
  writeAgeTable(rows, (text) => parts.push(text));
  return parts.join("").replace(/\n$/, "");
}

/**
 * Writes `rows` as `JSON.stringify(rows, null, 2)` would, plus a newline, a few thousand rows at a
 * time: a million rows would make one string of about 300 MB, near V8's limit for a string.
 */
export function writeAgeJson(rows: readonly AgeRow[], write: (text: string) => void): void {
  if (rows.length === 0) {
    write("[]\n");
    return;
  }
  write("[\n");
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const end = Math.min(rows.length, start + CHUNK_ROWS);
    let chunk = "";
    for (let i = start; i < end; i++)
      chunk += `  ${JSON.stringify(rows[i], null, 2).replaceAll("\n", "\n  ")}${i === rows.length - 1 ? "\n" : ",\n"}`;
    write(chunk);
  }
  write("]\n");
}
