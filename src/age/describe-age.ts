import type { AgeRow, AgeStatus } from "./compute-age-report.js";

export const STATUS_ICON: Record<AgeStatus, string> = {
  overdue: "🔴",
  never_rotated: "⚫",
  due_soon: "🟡",
  ok: "🟢",
  no_policy: "⚪",
};

/** A short human phrase for the row's state, shared by the terminal table and the chat. */
export function describeDue(row: AgeRow): string {
  switch (row.status) {
    case "overdue":
      return `overdue by ${plural(-row.days_left!, "day")}`;
    case "due_soon":
      return row.days_left === 0 ? "due today" : `due in ${plural(row.days_left!, "day")}`;
    case "ok":
      return `due in ${plural(row.days_left!, "day")}`;
    case "never_rotated":
      return "never rotated";
    case "no_policy":
      return "no schedule";
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
