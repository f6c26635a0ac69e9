import type { Day, DayEntry } from "./create-day-journal.js";
import type { DayItem, DayPlan } from "./plan-day.js";

/** How a due secret reads in the plan: "vault_x (API token …), overdue by 30 days, owner @team". */
function dueLine(item: DayItem): string {
  const due =
    item.status === "never_rotated"
      ? "never rotated"
      : `overdue by ${item.daysOverdue ?? 0} day${item.daysOverdue === 1 ? "" : "s"}`;
  return `${item.key} (${item.procedure.title}), ${due}${item.owner ? `, owner ${item.owner}` : ""}`;
}

/** What the operator's hands do in a rotation: "unattended", or the steps, those asked up front marked. */
export function describeHands(item: DayItem): string {
  if (item.hands.length === 0) return "unattended but for the confirmations";
  return `your hands: ${item.hands
    .map((h) => `${h.kind === "collect" ? "paste" : "do by hand"} "${h.title}"${h.upFront ? " (asked up front)" : ""}`)
    .join("; ")}`;
}

/** The plan of a rotation day, one line per secret and one for its hands, in the order they run. */
export function describeDayPlan(plan: DayPlan): string[] {
  const lines = plan.items.flatMap((item, i) => [`${i + 1}. ${dueLine(item)}`, `   ${describeHands(item)}`]);
  if (plan.withoutProcedure.length > 0)
    lines.push(
      `Due but rotated by no procedure of the runbook (add one, or fix its category in the manifest): ${plan.withoutProcedure.join(", ")}`,
    );
  return lines;
}

const MARKS: Record<DayEntry["outcome"], string> = {
  pending: "▫️",
  running: "▶️",
  completed: "✅",
  skipped: "⤼",
  aborted: "⏹",
  cancelled: "✖️",
  not_started: "⛔",
};

/** Minutes from an entry's turn to its end, as "0.4 min"; undefined when it did not run. */
function minutesOf(entry: DayEntry): string | undefined {
  if (entry.startedAt === undefined || entry.endedAt === undefined) return undefined;
  return `${((Date.parse(entry.endedAt) - Date.parse(entry.startedAt)) / 60_000).toFixed(1)} min`;
}

/** A rotation's closing message (which may hold paragraphs) as one line of the summary. */
const oneLine = (text: string) => text.replace(/\s*\n+\s*/g, " ").trim();

/** One line per secret: its outcome, time, rotation and how it ended. */
export function describeDayEntries(day: Readonly<Day>): string[] {
  return day.entries.map((entry) => {
    const minutes = minutesOf(entry);
    const what = entry.outcome.replace("_", " ");
    return `${MARKS[entry.outcome]} ${entry.key}: ${what}${minutes && entry.outcome !== "not_started" ? ` in ${minutes}` : ""}${entry.rotationId ? ` (rotation ${entry.rotationId})` : ""}${entry.message && entry.outcome !== "completed" ? `: ${oneLine(entry.message)}` : ""}`;
  });
}

/** The day's closing line: how many completed, and what is left to do. */
export function describeDayEnd(day: Readonly<Day>): string {
  const count = (outcome: DayEntry["outcome"]) => day.entries.filter((e) => e.outcome === outcome).length;
  const total = day.entries.length;
  const left = total - count("completed");
  return `🏁 Rotation day ${day.id}: ${count("completed")} of ${total} rotated${left > 0 ? `; ${left} still due: rotabot age lists them, and the next rotation day takes them again` : ""}.`;
}
