import { newKeyOf } from "../model/new-key.js";
import type { ResponseType, RollbackStepRecord, Rotation, StepRecord } from "../model/rotation.js";
import { RESPONSES } from "./responses.js";

/** Every sentence the engine says to an operator, in one place. Never a secret value. */
export const PROMPTS = {
  existingNew: (key: string, ending: string) =>
    `${newKeyOf(key)} is already in the vault from an earlier attempt (ends in …${ending}). Reuse it, or replace it with a new value?`,
  manualDestructive: (instruction: string, label: string) =>
    `${instruction}\n\nThis cannot be undone: once you press ${label}, the rotation can no longer be aborted.`,
  /** After the point of no return the card no longer says abort is still possible before it. */
  confirmDestructive: (message: string, pastPointOfNoReturn: boolean) =>
    pastPointOfNoReturn
      ? `${message}\n\nThis cannot be undone.`
      : `${message}\n\nThis cannot be undone: once you confirm, the rotation can no longer be aborted.`,
  destructive: (title: string, pastPointOfNoReturn: boolean) =>
    pastPointOfNoReturn
      ? `${title}. This cannot be undone.`
      : `${title}. This cannot be undone, and the rotation can no longer be aborted after it.`,
  /** Which credential a revoke card is about, by the last 4 characters only. */
  revokeWhich: (noun: string, endings: Rotation["endings"]) => {
    if (endings?.old === undefined) return undefined;
    if (endings.new === undefined) return `Revoke the ${noun} ending …${endings.old}.`;
    if (endings.new === endings.old)
      return `The old and the new ${noun} both end in …${endings.old}: revoke the older one, keep the one created for this rotation.`;
    return `Revoke the ${noun} ending …${endings.old}; keep …${endings.new} (the new one).`;
  },
  /** A collect card names the value in use now, so the operator knows which one is being replaced. */
  inUseNow: (noun: string, ending: string | undefined) =>
    ending === undefined ? undefined : `The ${noun} in use now ends in …${ending}.`,
  /**
   * A failed step's card: the failure, then what each button there does, in the words of its
   * label. A check that guards a revoke (`guard`) asks whether the old credential was revoked
   * and says what Mark done skips.
   */
  failed: (record: StepRecord, accepts: readonly ResponseType[], guard?: RevokeGuard) =>
    [
      `${record.title} failed: ${record.message ?? "no reason given"}`,
      ...(guard ? [PROMPTS.wasItRevoked(guard, accepts.includes("retry"))] : []),
      buttonLines(accepts, {
        mark_done: guard
          ? `skips this check: ${PROMPTS.guardSkipped(guard)}. The rotation goes on as if it had passed.`
          : "skips it, as if it had succeeded: press it only if you did it or checked it yourself.",
      }),
    ].join("\n\n"),
  /** A check that proves a revoke failed: the old credential may still be accepted. */
  wasItRevoked: ({ revoke, noun, oldEnding }: RevokeGuard, retry: boolean) => {
    const old = `the old ${noun}${oldEnding ? ` ending …${oldEnding}` : ""}`;
    return `Was ${old} revoked? This check proves that “${revoke}” worked; if ${old} is still accepted, it was not. Revoke it now${retry ? ", then press Retry" : ""}.`;
  },
  /** What Mark done skips on a check that proves a revoke happened. */
  guardSkipped: ({ revoke, noun, oldEnding }: RevokeGuard) =>
    `nobody will have checked that “${revoke}” worked, so the old ${noun}${oldEnding ? ` ending …${oldEnding}` : ""} may still be valid`,
  interrupted: (record: StepRecord, accepts: readonly ResponseType[]) =>
    `"${record.title}" was interrupted while running and may have partly happened${record.process ? ` (its command ran as process group ${record.process.pgid}; if that is still running, Retry waits for it to end first, so it never runs twice at once)` : ""}.\n\n${buttonLines(accepts, { mark_done: "records it as done: press it only if it completed." })}`,
  stepGone: (record: StepRecord) =>
    `step ${record.id} is no longer in the runbook; restore the runbook this rotation started with, or finish by hand`,
  stoppedBefore: (record: StepRecord | undefined) =>
    `rotabot stopped${record ? ` before “${record.title}”` : ""}; nothing is running`,
  interruptedWhileRunning: "rotabot stopped while this step was running",
  abortInterrupted: "rotabot stopped while aborting; abort again to finish the rollback",
  confirmedBy: (name: string) => `confirmed by ${name}`,
  markedDoneBy: (name: string) => `marked done by ${name}`,
  reusing: (key: string, name: string) => `reusing ${newKeyOf(key)} from an earlier attempt (${name})`,
  completed: (rotation: Rotation) =>
    `${rotation.key} rotated${rotation.commit ? `, commit ${rotation.commit}` : ""}${PROMPTS.leftOutside(rotation)}`,
  /** How an abort ended: what it removed and rolled back, and what the operator created outside that is still valid. */
  aborted: (r: Readonly<Rotation>, by: string) => {
    const steps = r.rollback?.steps ?? [];
    const newKey = newKeyOf(r.key);
    // "removed" only when there was a `<key>_new` to remove (the drop wrote the vault).
    const dropped = steps.some((s) => s.kind === "vault_drop_new" && s.state === "done");
    const undone = steps.filter((s) => s.kind !== "vault_drop_new" && s.state === "done");
    const rolledBack = undone.length > 0 ? `; rolled back: ${undone.map(whereItRan).join(", ")}` : "";
    let text: string;
    if (!r.rollback?.touched)
      text = dropped
        ? `aborted by ${by}; ${newKey} removed from the vault, nothing else changed`
        : `aborted by ${by}; nothing had changed: no new value was in the vault and no service was touched`;
    else
      text = `aborted by ${by}${dropped ? `; ${newKey} removed from the vault` : ""}${rolledBack}; every service is back on the old value`;
    return `${text}${PROMPTS.leftOutside(r)}`;
  },
  /** The rollback did not undo everything: the rotation stays in flight; what failed, where, and how to do it by hand. */
  rollbackFailed: (r: Readonly<Rotation>, by: string) =>
    `aborted by ${by}, but the rollback failed, so rotation ${r.id} stays in flight (rollback failed): ${rollbackProblems(r).join("; ")}. Run the rollback again, every step from the first, with rotabot abort ${r.id} --retry-rollback (or 🔁 Retry on the chat card); once they are done by hand, ☑️ Mark done (rotabot resume ${r.id}) ends it as aborted${PROMPTS.leftOutside(r)}`,
  rollbackFailedCard: (r: Readonly<Rotation>, accepts: readonly ResponseType[]) =>
    `⚠️ The rollback of rotation ${r.id} failed: it stays in flight (its lock, the vault claim and the deploy marker are held) until it is rolled back.\n\n${rollbackProblems(
      r,
    )
      .map((p) => `✘ ${p}`)
      .join("\n")}\n\n${buttonLines(accepts, {
      retry: `runs the whole rollback again, from its first step, so what was rendered before your repair is rendered again (on the shell: rotabot abort ${r.id} --retry-rollback).`,
      mark_done: "ends the rotation as aborted: press it only once you did the failed steps by hand.",
    })}`,
  rollbackDoneByHand: (r: Readonly<Rotation>, by: string) =>
    `aborted by ${r.rollback?.by.name ?? by}; the rest of the rollback was done by hand, says ${by}${PROMPTS.leftOutside(r)}`,
  /** The credentials created outside rotabot for this rotation that are still valid and unused, if any. */
  leftOutside: (r: Readonly<Rotation>) => {
    const open = (r.created ?? []).filter((c) => c.state === "unused");
    return open.length === 0
      ? ""
      : `\n\n⚠️ Created for this rotation and still valid: ${open.map((c) => c.revoke).join("; ")}. /status (rotabot status) lists ${open.length === 1 ? "it" : "them"} until someone says revoked.`;
  },
  /** What ended an exposure window no check closed. */
  exposureUnproven: "the rotation's end (no check proved the old value refused)",
  /** Between which steps a declared outage was measured. */
  outageMeasured: (from: string, to: string) => `from “${from}” to the end of “${to}”`,
  rollbackStopped: (message: string) =>
    `the rollback stopped on an unexpected error: ${message} (the rotabot log has the details); check the vault and the services by hand`,
  unexpected: (message: string) => `unexpected error: ${message} (the rotabot log has the details)`,
} as const;

/** A check that proves a revoke worked: the revoke step's title, how the cards call the credential, its old ending. */
export interface RevokeGuard {
  revoke: string;
  noun: string;
  oldEnding: string | undefined;
}

/** A rollback step as people read it: its title and the environment it ran in. */
const whereItRan = (s: Pick<RollbackStepRecord, "title" | "environment">) =>
  `${s.title}${s.environment ? ` (${s.environment})` : ""}`;

/** Each failed rollback step with its reason and how to do it by hand, then any other problem. */
function rollbackProblems(r: Readonly<Rotation>): string[] {
  const failed = (r.rollback?.steps ?? []).filter((s) => s.state !== "done" && s.state !== "skipped");
  return [
    ...failed.map(
      (s) =>
        `${s.title}${s.environment ? ` in ${s.environment}` : ""} ${s.state === "failed" ? `failed: ${s.message ?? "no reason given"}` : "did not run"}; by hand: ${s.byHand}`,
    ),
    ...(r.rollback?.problems ?? []),
  ];
}

/** What the buttons of a failed or interrupted step do, each line starting with its label. */
function buttonLines(accepts: readonly ResponseType[], own: Partial<Record<ResponseType, string>>): string {
  const does: Partial<Record<ResponseType, string>> = {
    retry: "runs it again.",
    another_value: "asks you for the value again, then repeats the steps that used it.",
    abort: "stops the rotation and rolls back.",
    ...own,
  };
  return accepts.flatMap((a) => (does[a] ? [`${RESPONSES[a].button} ${does[a]}`] : [])).join("\n");
}

/** How the cards call a secret of this category. */
export function credentialNoun(category: string): string {
  if (/dsn/i.test(category)) return "DSN";
  if (/token|pat/i.test(category)) return "token";
  return "value";
}

/** Why an answer or command was refused; each names the next action. */
export const REFUSALS = {
  notFound: (id: string) => `there is no rotation ${id}; /status (or rotabot status) lists the active ones`,
  busy: "a step is running; wait for it to finish",
  aborting: "the rotation is being aborted; wait for the rollback to finish (its progress message shows each step)",
  rollbackFailed: (rotation: Rotation) =>
    `the rollback of rotation ${rotation.id} failed and it stays in flight: rotabot abort ${rotation.id} --retry-rollback runs the whole rollback again (or 🔁 Retry on its card in the chat); once you did them by hand, ☑️ Mark done on that card (or rotabot resume ${rotation.id}) ends it as aborted`,
  nothingToRevoke: (id: string) => `rotation ${id} has no credential left to revoke`,
  revokeAfterEnd: (id: string) =>
    `rotation ${id} is still in flight: the credentials it leaves unused are listed once it ends`,
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
    `${key} is already being rotated by ${initiator} (rotation ${rotationId}): /status (or rotabot status) shows where it stands; wait for it to end, or ask ${initiator} to finish or abort it, then start again`,
  unreadableLock: (key: string, file: string, what?: string) =>
    what === undefined
      ? `the lock of ${key} (${file}) is empty or unreadable, so rotabot cannot tell which rotation holds it (a crash while it was written leaves it so). Check that no rotation of ${key} is running (/status, or rotabot status), then remove that file and start again`
      : `the lock of ${key} (${file}) ${what}, not a lock file rotabot wrote (it never follows a link or reads anything else there). Find out who made it, remove it (rm ${file}), then start again`,
  vaultClaimedBy: (other: Rotation) =>
    `rotation ${other.id} of ${other.key} (by ${other.initiator.name}) has changed the vault and not committed it yet; rotations share the vault file and its commit, so this one waits: /status shows that one; once it is finished or aborted, try again`,
  unreadableVaultClaim: (file: string, what?: string) =>
    what === undefined
      ? `the vault's claim (${file}) is empty or unreadable, so rotabot cannot tell which rotation changed the vault (a crash while it was written leaves it so). Check with /status (or rotabot status) that no other rotation is in flight, then remove that file and try again`
      : `the vault's claim (${file}) ${what}, not a claim rotabot wrote (it never follows a link or reads anything else there). Find out who made it, remove it (rm ${file}), then try again`,
  vaultInUseBy: (other: Rotation) =>
    `rotation ${other.id} of ${other.key} (by ${other.initiator.name}) is in flight and has changed the vault; rotations share the vault file and its commit, so finish or abort that one first (rotabot status, or /status, shows where it stands)`,
  lockContended: (key: string) =>
    `the lock of ${key} was taken and released by others several times while this rotation tried to take it; /status shows what runs, then start again`,
  damagedHolder: (key: string, id: string, problem: string) =>
    `rotation ${id} holds the lock on ${key} but its journal is damaged (${problem}). Safe ways out: rotabot resume ${id} rebuilds it from the vault and git and goes on; rotabot abort ${id} drops ${newKeyOf(key)} and rolls back, where that is still safe`,
  damaged: (id: string, problem: string) =>
    `⚠ rotation ${id}: its journal is damaged (${problem}). rotabot resume ${id} rebuilds it from the vault and git and goes on; rotabot abort ${id} drops the new value and rolls back, where that is still safe`,
  onlyInitiator: (name: string) => `Only ${name}, who started this rotation, can answer.`,
  secondPersonNeeded: (response: string, named?: string) =>
    `A second person must approve this step: ask ${named ?? "someone in APPROVER_IDS"} to press ${{ go: "Confirm", done: "Done", mark_done: "Mark done" }[response] ?? "it"}.`,
  onlyApprover: "Only an approver (APPROVER_IDS) can approve this step.",
  onlyNamedApprover: (name: string) =>
    `${name} was asked to approve this rotation, so only they can: if they cannot, let this prompt expire (CONFIRM_TIMEOUT), then /resume, and any approver can.`,
} as const;
