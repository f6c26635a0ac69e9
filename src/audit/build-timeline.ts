import { readFile } from "node:fs/promises";
import path from "node:path";
import { describeExposure } from "../changelog/describe-exposure.js";
import type { Rotation } from "../model/rotation.js";
import { describeOutage, stepLabel } from "../rotation/queries.js";

/** One line of an incident timeline: when, what, and who did it when a person did. */
export interface TimelineEntry {
  at: string;
  what: string;
  who?: string;
}

/** What the audit log says of a rotation: decisions with who made them (an audit.jsonl line's `event`). */
type AuditEvent = {
  type: string;
  rotation?: { id: string };
  step?: string;
  answer?: string;
  by?: string;
  how?: string;
  refused?: string;
  reason?: string;
};

/**
 * The audit log's entries of one rotation, in order. A line that is not JSON (a crash cut it) is
 * left out: `rotabot audit verify` is what judges the log.
 */
export async function readAuditOf(stateDir: string, rotationId: string): Promise<{ at: string; event: AuditEvent }[]> {
  let text: string;
  try {
    text = await readFile(path.join(stateDir, "audit.jsonl"), "utf8");
  } catch {
    return [];
  }
  return text.split("\n").flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { at: string; event: AuditEvent };
      return entry.event?.rotation?.id === rotationId ? [entry] : [];
    } catch {
      return [];
    }
  });
}

/**
 * A rotation's timeline for a post-mortem: the declaration, every step's end from the journal
 * (done, failed, skipped, marked done by whom), every decision from the audit log with who made
 * it, the moment the old value was proven refused, and the end. Never a value: neither holds one.
 */
export function buildTimeline(
  r: Readonly<Rotation>,
  audit: readonly { at: string; event: AuditEvent }[],
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  if (r.compromise?.sinceGiven)
    entries.push({ at: r.compromise.since, what: `suspected leak of ${r.key} (as declared): ${r.compromise.reason}` });
  entries.push({
    at: r.createdAt,
    what: `rotation ${r.id} of ${r.key} started${r.compromise ? `: suspected compromise (${r.compromise.reason}), ${r.compromise.order} order` : r.incident ? `: incident (${r.incident.reason})` : ""}${r.approver ? `; approver asked: ${r.approver.name}` : ""}`,
    who: r.initiator.name,
  });
  if (r.approver?.lapsed)
    entries.push({
      at: r.approver.lapsed,
      what: `${r.approver.name}, the approver asked, did not answer in time: any approver may approve`,
    });
  for (const s of r.steps) {
    if (!s.endedAt || (s.state !== "done" && s.state !== "failed" && s.state !== "skipped")) continue;
    const state = s.markedDoneBy ? "marked done" : s.state;
    entries.push({
      at: s.endedAt,
      what: `${stepLabel(s, r.environments)}: ${state}${s.message ? ` (${s.message})` : ""}`,
      ...(s.markedDoneBy ? { who: s.markedDoneBy.name } : {}),
    });
  }
  for (const { at, event } of audit) {
    if (event.rotation?.id !== r.id) continue;
    if (event.type === "answered") entries.push({ at, what: `${event.step}: ${event.answer}`, who: event.by ?? "" });
    if (event.type === "value_checked")
      entries.push({
        at,
        what: `${event.step}: value ${event.how}, ${event.refused ? `rejected (${event.refused})` : "accepted"}`,
        who: event.by ?? "",
      });
    if (event.type === "break_glass")
      entries.push({
        at,
        what: `break-glass on ${event.step}: ${event.answer} alone (${event.reason})`,
        who: event.by ?? "",
      });
    if (event.type === "prompt_expired") entries.push({ at, what: `${event.step}: confirmation expired unanswered` });
  }
  if (r.exposure)
    entries.push({
      at: r.exposure.to,
      what: r.exposure.proven
        ? `old value proven refused everywhere: ${describeExposure(r) ?? ""}`
        : `${describeExposure(r) ?? ""}`,
    });
  if (r.endedAt)
    entries.push({
      at: r.endedAt,
      what: `rotation ${r.state}${r.outage ? `; ${describeOutage(r)}` : ""}${r.commit ? `; commit ${r.commit}` : ""}`,
    });
  // Stable: at one instant, the journal's step before the decision the audit logged after it.
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at.localeCompare(b.e.at) || a.i - b.i)
    .map(({ e }) => e);
}

/** The timeline as Markdown, ready to paste into a post-mortem. */
export function timelineMarkdown(r: Readonly<Rotation>, entries: readonly TimelineEntry[]): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ");
  return [
    `## Timeline: rotation ${r.id} of \`${r.key}\``,
    "",
    ...(r.compromise ? [`Suspected compromise: ${r.compromise.reason}. ${describeExposure(r)}.`, ""] : []),
    "| time (UTC) | what | who |",
    "|---|---|---|",
    ...entries.map(
      (e) => `| ${e.at.replace("T", " ").replace(/\.\d+Z$/, "Z")} | ${cell(e.what)} | ${cell(e.who ?? "")} |`,
    ),
    "",
  ].join("\n");
}
