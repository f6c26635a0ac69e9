import type { RollbackStepRecord, Rotation, StepRecord } from "../../model/rotation.js";
import { currentStep, stepLabel } from "../../rotation/queries.js";
import { escapeHtml } from "../../telegram/html.js";

const ICONS: Record<StepRecord["state"], string> = {
  pending: "▫️",
  running: "▶️",
  awaiting: "❓",
  done: "✅",
  skipped: "⤼",
  failed: "❌",
  interrupted: "⏸",
};
/** A step an abort stopped: not "interrupted" (resume continues those), and not ⚠, which marks destructive steps. */
const ABORTED = "⏹";
const STATE_WORDS: Record<Rotation["state"], string> = {
  running: "running",
  awaiting_operator: "waiting for the operator",
  completed: "completed",
  failed: "failed, waiting for a decision",
  aborting: "aborting, rolling back",
  rollback_failed: "rollback failed, waiting for a decision",
  aborted: "aborted",
  interrupted: "interrupted",
};
const ROLLBACK_ICONS: Record<RollbackStepRecord["state"], string> = {
  pending: "▫️",
  running: "▶️",
  done: "↩️",
  skipped: "⤼",
  failed: "❌",
};
/** States in which a step an abort stopped is shown as stopped (⏹). */
const ABORT_STATES: ReadonlySet<Rotation["state"]> = new Set(["aborting", "rollback_failed", "aborted"]);

/** The rollback of an abort, step by step, as it runs and once it ended. */
function renderRollback(rotation: Readonly<Rotation>): string[] {
  const steps = rotation.rollback?.steps;
  if (!steps || !ABORT_STATES.has(rotation.state)) return [];
  return [
    "",
    `<b>Rollback</b> (abort by ${escapeHtml(rotation.rollback.by.name)}):`,
    ...steps.map(
      (s) =>
        `${ROLLBACK_ICONS[s.state]} ${escapeHtml(s.title)}${s.environment ? ` · ${escapeHtml(s.environment)}` : ""}${s.state === "failed" && s.message ? `\n      ${escapeHtml(s.message.slice(0, 300))}` : ""}`,
    ),
  ];
}

/** The live checklist of a rotation: every step with its state, and the tail of the running command. */
export function renderProgress(rotation: Readonly<Rotation>, tail: readonly string[]): string {
  const lines = [
    `🔐 <b>Rotation</b> <code>${escapeHtml(rotation.id)}</code> of <code>${escapeHtml(rotation.key)}</code> by ${escapeHtml(rotation.initiator.name)}${rotation.incident ? ` (incident: ${escapeHtml(rotation.incident.reason)})` : ""}`,
    `State: <b>${STATE_WORDS[rotation.state]}</b> · ${rotation.environments.length > 1 ? "environments" : "environment"}: ${escapeHtml(rotation.environments.join(" → "))}`,
    "",
    ...rotation.steps.map(
      (s, i) =>
        `${ABORT_STATES.has(rotation.state) && s.state === "interrupted" ? ABORTED : ICONS[s.state]} ${i + 1}. ${escapeHtml(stepLabel(s, rotation.environments))}${s.destructive ? " ⚠" : ""}${s.state === "failed" && s.message ? `\n      ${escapeHtml(s.message.slice(0, 300))}` : ""}`,
    ),
  ];
  lines.push(...renderRollback(rotation));
  const running = currentStep(rotation);
  if (tail.length > 0 && running?.state === "running")
    lines.push(
      "",
      `<pre>${escapeHtml(tail.map((l) => (l.length > 150 ? `${l.slice(0, 150)}…` : l)).join("\n"))}</pre>`,
    );
  return lines.join("\n");
}
