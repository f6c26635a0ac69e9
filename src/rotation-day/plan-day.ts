import { computeAgeReport, NEEDS_ACTION, type AgeRow } from "../age/compute-age-report.js";
import type { ManifestEntry } from "../manifest/read-manifest.js";
import type { Procedure, Runbook, Step } from "../runbook/runbook-schema.js";
import type { CalendarDate } from "../time/calendar-date.js";

/** A step that needs the operator's hands: a value to paste (collect) or something to do by hand (manual). */
export interface HandStep {
  stepId: string;
  title: string;
  kind: "collect" | "manual";
  /**
   * A collect step whose credential the operator can create before the rotation starts: no manual
   * step stands before it. Telegram's new token comes from BotFather's /revoke (a manual step
   * first), which ends the old token and starts the outage, so it is asked at its turn only.
   */
  upFront: boolean;
}

/** One secret of a rotation day, as the plan lists it. */
export interface DayItem {
  key: string;
  procedure: Procedure;
  status: "overdue" | "never_rotated";
  lastRotation: CalendarDate | null;
  owner: string | null;
  /** Days past the due date; undefined when never rotated. */
  daysOverdue?: number;
  hands: HandStep[];
}

export interface DayPlan {
  items: DayItem[];
  /** Due keys no procedure of the runbook rotates (the plan names them; nothing runs for them). */
  withoutProcedure: string[];
}

/**
 * Every secret overdue or never rotated, in the runbook's order: its procedures as listed, and
 * within a category-wide procedure (API tokens) the manifest's order. Pure: the same manifest and
 * day give the same plan.
 */
export function planDay(runbook: Runbook, entries: readonly ManifestEntry[], asOf: CalendarDate): DayPlan {
  const due = new Map<string, AgeRow>(
    computeAgeReport(runbook, entries, { asOf, dueSoonDays: 0 })
      .filter((row) => NEEDS_ACTION.has(row.status))
      .map((row) => [row.key, row]),
  );
  const items: DayItem[] = [];
  const item = (procedure: Procedure, row: AgeRow): DayItem => ({
    key: row.key,
    procedure,
    status: row.status === "never_rotated" ? "never_rotated" : "overdue",
    lastRotation: row.last_rotation,
    owner: row.owner,
    ...(row.days_left !== null ? { daysOverdue: -row.days_left } : {}),
    hands: handsOf(procedure.steps),
  });
  for (const procedure of runbook.procedures) {
    const keys =
      procedure.secret !== undefined
        ? [procedure.secret]
        : entries.filter((e) => e.category === procedure.category).map((e) => e.key);
    for (const key of keys) {
      const row = due.get(key);
      if (!row || items.some((i) => i.key === key)) continue;
      items.push(item(procedure, row));
    }
  }
  const planned = new Set(items.map((i) => i.key));
  return { items, withoutProcedure: [...due.keys()].filter((key) => !planned.has(key)) };
}

/** The steps of a procedure that need the operator's hands, in order. */
export function handsOf(steps: readonly Step[]): HandStep[] {
  const hands: HandStep[] = [];
  for (const step of steps) {
    if (step.kind !== "collect" && step.kind !== "manual") continue;
    hands.push({
      stepId: step.id,
      title: step.title,
      kind: step.kind,
      upFront: step.kind === "collect" && !hands.some((h) => h.kind === "manual"),
    });
  }
  return hands;
}
