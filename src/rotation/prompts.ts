import { newKeyOf } from "../vault/create-vault.js";
import type { RollbackReport, Rotation, StepRecord } from "./model.js";

/** Every sentence the engine says to an operator, in one place. Never a secret value. */
export const PROMPTS = {
  existingNew: (key: string, ending: string) =>
    `${newKeyOf(key)} is already in the vault from an earlier attempt (ends in …${ending}). Reuse it, or replace it with a new value?`,
  manualDestructive: (instruction: string) =>
    `${instruction}\n\nThis cannot be undone: once you press Done, the rotation can no longer be aborted.`,
  confirmDestructive: (message: string) =>
    `${message}\n\nThis cannot be undone: once you confirm, the rotation can no longer be aborted.`,
  destructive: (title: string) =>
    `${title}. This cannot be undone, and the rotation can no longer be aborted after it.`,
  failed: (record: StepRecord) => `${record.title} failed: ${record.message ?? "no reason given"}`,
  interrupted: (record: StepRecord) =>
    `"${record.title}" was interrupted while running and may have partly happened${record.process ? ` (its command ran as process group ${record.process.pgid}; if that is still running, Retry waits for it to end first, so it never runs twice at once)` : ""}. Retry it, mark it done if it completed, or abort.`,
  stepGone: (record: StepRecord) =>
    `step ${record.id} is no longer in the runbook; restore the runbook this rotation started with, or finish by hand`,
  stoppedBefore: (record: StepRecord | undefined) =>
    `rotabot stopped${record ? ` before “${record.title}”` : ""}; nothing is running`,
  interruptedWhileRunning: "rotabot stopped while this step was running",
  confirmedBy: (name: string) => `confirmed by ${name}`,
  markedDoneBy: (name: string) => `marked done by ${name}`,
  reusing: (key: string, name: string) => `reusing ${newKeyOf(key)} from an earlier attempt (${name})`,
  completed: (rotation: Rotation) => `${rotation.key} rotated${rotation.commit ? `, commit ${rotation.commit}` : ""}`,
  aborted: (key: string, by: string, report: RollbackReport) => {
    const where = (u: RollbackReport["undone"][number]) => `${u.title}${u.environment ? ` (${u.environment})` : ""}`;
    const undone = report.undone.filter((u) => u.kind !== "vault_drop_new");
    const rolledBack = undone.length > 0 ? `; rolled back: ${undone.map(where).join(", ")}` : "";
    if (report.problems.length > 0) {
      return `aborted by ${by}${rolledBack}, but the rollback needs attention: ${report.problems.join("; ")}`;
    }
    if (!report.touched) return `aborted by ${by}; ${newKeyOf(key)} removed from the vault, nothing else changed`;
    return `aborted by ${by}; ${newKeyOf(key)} removed from the vault${rolledBack}; every service is back on the old value`;
  },
  unexpected: (message: string) => `unexpected error: ${message}; see the rotabot log, then resume`,
} as const;

/** Why an answer or command was refused; each names the next action. */
export const REFUSALS = {
  notFound: (id: string) => `there is no rotation ${id}; /status (or rotabot status) lists the active ones`,
  busy: "a step is running; wait for it to finish",
  aborting: "the rotation is being aborted; wait for the rollback to finish",
  alreadyRunning: "the rotation is already running",
  ownedElsewhere: (rotation: Rotation) =>
    `rotation ${rotation.id} is being run by another rotabot process (pid ${rotation.process?.pid}); answer it there (the bot or the shell that started it), or stop that process first`,
  stale: "this prompt is no longer current (already answered or replaced); use the latest message, or /status",
  expired: (id: string) => `This confirmation expired. Send /resume ${id} to be asked again.`,
  notAccepted: (accepts: readonly string[]) => `this prompt accepts ${accepts.join(", ")}`,
  notACollectStep: "this step does not take a value",
  ended: (rotation: Rotation) =>
    `rotation ${rotation.id} has already ${rotation.state === "completed" ? "completed" : "been aborted"}`,
  endedResume: (rotation: Rotation) => `rotation ${rotation.id} has already ended (${rotation.state})`,
  pastPointOfNoReturn: (title: string) =>
    `abort is no longer possible: "${title}" has run and cannot be undone. Finish the rotation: resume it, retry or mark the remaining steps done`,
  lockedBy: (key: string, initiator: string, rotationId: string) =>
    `${key} is already being rotated by ${initiator} (rotation ${rotationId})`,
  damagedHolder: (key: string, id: string, problem: string) =>
    `rotation ${id} holds the lock on ${key} but its journal is damaged (${problem}). Safe ways out: rotabot resume ${id} rebuilds it from the vault and git and goes on; rotabot abort ${id} drops ${newKeyOf(key)} and rolls back, where that is still safe`,
  damaged: (id: string, problem: string) =>
    `⚠ rotation ${id}: its journal is damaged (${problem}). rotabot resume ${id} rebuilds it from the vault and git and goes on; rotabot abort ${id} drops the new value and rolls back, where that is still safe`,
  onlyInitiator: (name: string) => `Only ${name}, who started this rotation, can answer.`,
  secondPersonNeeded: (response: string) =>
    `A second person must approve this step: ask someone in APPROVER_IDS to press ${{ go: "Confirm", done: "Done", mark_done: "Mark done" }[response] ?? "it"}.`,
  onlyApprover: "Only an approver (APPROVER_IDS) can approve this step.",
} as const;
