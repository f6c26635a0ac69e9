import { fail, type Failure } from "../result.js";
import { checkAnswer, lapseNamedApprover, needsSecondPerson } from "./answer-rules.js";
import type { Actor, Awaiting, PromptKind, ResponseType, Rotation, StepRecord } from "../model/rotation.js";
import { credentialNoun, PROMPTS, REFUSALS } from "./prompts.js";
import { currentStep, isTerminal } from "./queries.js";
import { measureEnvironmentOutages } from "./measure-environment-outages.js";
import type { Effect, Input, Notice, RefusalReason, Transition, TransitionContext } from "./transition-io.js";

/** Prompt kinds whose answer expires after CONFIRM_TIMEOUT. */
const EXPIRING: ReadonlySet<PromptKind> = new Set(["confirm", "destructive", "manual", "gate"]);

/**
 * The rotation state machine: given a rotation, an input and the context, the next rotation and
 * the effects to run. Pure: the input rotation is never changed, and nothing here does I/O.
 */
export function transition(rotation: Readonly<Rotation>, input: Input, ctx: TransitionContext): Transition {
  const r = structuredClone(rotation) as Rotation;
  const out = { effects: [] as Effect[], notices: [] as Notice[] };
  const refused = apply(r, input, ctx, out);
  if (refused) return refused;
  r.updatedAt = ctx.now;
  return { ok: true, rotation: r, ...out };
}

type Out = { effects: Effect[]; notices: Notice[] };

function apply(r: Rotation, input: Input, ctx: TransitionContext, out: Out): Failure<RefusalReason> | undefined {
  switch (input.type) {
    case "begin":
      out.notices.push({ type: "started" });
      // An incident is the owner's business from its start, not only at its end.
      if (r.compromise) out.notices.push({ type: "owner_notified" });
      if (input.oldEnding !== undefined) r.endings = { old: input.oldEnding };
      // Reused (not replaced), the leftover `<key>_new` is the new value.
      if (input.leftoverNewEnding !== undefined) r.endings = { ...r.endings, new: input.leftoverNewEnding };
      if (input.leftoverNewEnding !== undefined) {
        ask(
          r,
          r.steps[0]!,
          "existing_new",
          PROMPTS.existingNew(r.key, input.leftoverNewEnding),
          ["reuse_new", "replace_new", "cancel"],
          ctx,
          out,
        );
        return undefined;
      }
      advance(r, ctx, out);
      return undefined;
    case "step_finished":
      stepFinished(r, input, ctx, out);
      return undefined;
    case "command_started": {
      const record = r.steps.find((s) => s.id === input.recordId);
      if (record?.state === "running") record.process = input.process;
      return undefined;
    }
    case "answer":
    case "value_taken":
    case "value_refused":
      return answer(r, input, ctx, out);
    case "abort":
      return beginAbort(r, input.actor, ctx, out, input.retryRollback === true);
    case "rollback_step": {
      const step = r.aborting ? r.rollback?.steps.find((s) => s.id === input.id) : undefined;
      if (!step) return undefined;
      step.state = input.state;
      if (input.message !== undefined) step.message = input.message;
      else delete step.message;
      if (input.logFile !== undefined) step.logFile = input.logFile;
      out.notices.push({ type: "rollback_step", id: step.id });
      return undefined;
    }
    case "rolled_back":
      rolledBack(r, input, ctx, out);
      return undefined;
    case "revoked":
      return revoked(r, input.actor, ctx, out);
    case "recover":
      recover(r, ctx, out);
      return undefined;
    case "rollback_interrupted":
      if (r.aborting) abortInterrupted(r, out);
      return undefined;
    case "resume":
      return resume(r, ctx, out);
    case "expire":
      if (r.awaiting?.nonce === input.nonce && !r.awaiting.expired) {
        lapseNamedApprover(r, ctx.approval, ctx.now);
        r.awaiting.expired = true;
        out.notices.push({ type: "prompt_expired", recordId: r.awaiting.stepId });
      }
      return undefined;
    case "failed_unexpectedly": {
      // A step whose executor threw failed like any other: the operator hears it and may retry, mark done or abort.
      const outcome = { status: "failed" as const, message: PROMPTS.unexpected(input.message) };
      stepFinished(r, { ...input, type: "step_finished", outcome }, ctx, out);
      return undefined;
    }
  }
}

/** Starts the next step, asks the operator, or completes. */
function advance(r: Rotation, ctx: TransitionContext, out: Out): void {
  if (isTerminal(r)) return;
  const record = currentStep(r);
  if (ctx.stopping) {
    r.state = "interrupted";
    r.message = PROMPTS.stoppedBefore(record);
    out.notices.push({ type: "interrupted" });
    return;
  }
  if (!record) return complete(r, ctx, out);
  const info = ctx.info(record);
  if (!info) {
    r.state = "failed";
    r.message = PROMPTS.stepGone(record);
    return;
  }
  if (record.state === "interrupted") {
    // It may have partly happened: run it again only if that is safe, else ask.
    if (!record.idempotent) {
      const accepts: ResponseType[] = ["retry", "mark_done", ...(r.pointOfNoReturn ? [] : (["abort"] as const))];
      return ask(r, record, "interrupted", PROMPTS.interrupted(record, accepts), accepts, ctx, out);
    }
    record.state = "pending";
  }
  if (record.state !== "pending") return;
  const cancel = r.pointOfNoReturn ? [] : (["cancel"] as const);
  const noun = credentialNoun(r.category);
  if (info.interaction === "collect") {
    const prompt = paragraphs(info.prompt ?? record.title, PROMPTS.inUseNow(noun, r.endings?.old));
    return ask(r, record, "collect", prompt, ["collect", "added_myself", ...cancel], ctx, out);
  }
  if (info.interaction === "manual" && !record.confirmedBy) {
    // A destructive manual step is a revoke: the card names the old credential and the new one.
    const prompt = record.destructive
      ? paragraphs(info.prompt ?? record.title, PROMPTS.revokeWhich(noun, r.endings))
      : (info.prompt ?? record.title);
    const text =
      record.destructive && !r.pointOfNoReturn ? PROMPTS.manualDestructive(prompt, info.doneLabel ?? "Done") : prompt;
    return ask(r, record, "manual", text, ["done", ...cancel], ctx, out);
  }
  const past = r.pointOfNoReturn !== undefined;
  if (info.interaction === "confirm" && !record.confirmedBy) {
    const prompt = info.prompt ?? record.title;
    // A destructive confirmation (the Telegram outage) is a destructive decision like any other.
    if (record.destructive)
      return ask(r, record, "destructive", PROMPTS.confirmDestructive(prompt, past), ["go", ...cancel], ctx, out);
    return ask(r, record, "confirm", prompt, ["go", ...cancel], ctx, out);
  }
  if (info.interaction === "gate" && !record.confirmedBy) {
    return ask(r, record, "gate", info.prompt ?? record.title, ["go", ...cancel], ctx, out);
  }
  if (record.destructive && info.interaction === "automatic" && !record.confirmedBy) {
    return ask(r, record, "destructive", PROMPTS.destructive(record.title, past), ["go", ...cancel], ctx, out);
  }
  record.state = "running";
  record.attempts++;
  record.startedAt = ctx.now;
  delete record.message;
  record.logFile = ctx.logFile(r.id, record.id);
  if (record.destructive) r.pointOfNoReturn ??= { stepId: record.id, at: ctx.now };
  r.state = "running";
  r.process = ctx.self;
  out.effects.push({ type: "run_step", recordId: record.id });
  out.notices.push({ type: "step_started", recordId: record.id });
}

/** When the step that ends a declared outage finishes, the outage is its end minus the start step's. */
function measureOutage(r: Rotation, record: StepRecord, ctx: TransitionContext): void {
  if (!ctx.outage || record.stepId !== ctx.outage.to || !record.endedAt) return;
  const start = r.steps.find((s) => s.stepId === ctx.outage!.from);
  if (!start?.endedAt) return;
  r.outage = {
    what: ctx.outage.what,
    seconds: Math.max(0, (Date.parse(record.endedAt) - Date.parse(start.endedAt)) / 1000),
    measured: PROMPTS.outageMeasured(start.title, record.title),
  };
}

/**
 * The exposure window closes when the check that proves the old value refused has passed in every
 * environment it runs in. A check marked done by hand proves nothing: the window then runs to the end.
 */
function measureExposure(r: Rotation, record: StepRecord, ctx: TransitionContext): void {
  if (r.exposure || !ctx.refusedBy || record.stepId !== ctx.refusedBy || record.state !== "done") return;
  const all = r.steps.filter((s) => s.stepId === ctx.refusedBy);
  if (all.some((s) => s.state !== "done" || s.markedDoneBy || !s.endedAt)) return;
  r.exposure = exposureTo(r, ctx.now, true, record.title);
}

function exposureTo(r: Rotation, to: string, proven: boolean, by: string): NonNullable<Rotation["exposure"]> {
  const from = r.compromise?.since ?? r.createdAt;
  return { from, to, seconds: Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000), proven, by };
}

function complete(r: Rotation, ctx: TransitionContext, out: Out): void {
  // No check proved the old value refused: it counts as accepted until the rotation ends.
  if (r.compromise && !r.exposure) r.exposure = exposureTo(r, ctx.now, false, PROMPTS.exposureUnproven);
  // Again here: a re-deploy marked done by hand ended the outage too.
  if (ctx.outageSteps) r.environmentOutages = measureEnvironmentOutages(r, ctx.outageSteps);
  // The credential the rotation completed with is in use; any other one created for it stays listed to revoke.
  const inUse = r.created?.findLast((c) => c.ending === r.endings?.new && c.state === "unused");
  if (inUse) inUse.state = "in_use";
  r.state = "completed";
  r.endedAt = ctx.now;
  r.message = PROMPTS.completed(r);
  delete r.awaiting;
  out.effects.push({ type: "release_lock" });
  out.notices.push({ type: "completed" });
}

function ask(
  r: Rotation,
  record: StepRecord,
  kind: PromptKind,
  prompt: string,
  accepts: ResponseType[],
  ctx: TransitionContext,
  out: Out,
): void {
  const awaiting: Awaiting = { stepId: record.id, kind, nonce: ctx.nonce, since: ctx.now, prompt, accepts };
  const doneLabel = kind === "manual" ? ctx.info(record)?.doneLabel : undefined;
  if (doneLabel !== undefined) awaiting.labels = { done: doneLabel };
  if (EXPIRING.has(kind)) {
    awaiting.expiresAt = new Date(Date.parse(ctx.now) + ctx.confirmTimeoutMs).toISOString();
    out.effects.push({ type: "schedule_expiry", nonce: ctx.nonce, at: awaiting.expiresAt });
  }
  r.awaiting = awaiting;
  if (record.state === "pending" && kind !== "existing_new" && kind !== "rollback_failed") record.state = "awaiting";
  if (r.state === "running") r.state = "awaiting_operator";
  out.notices.push({ type: "awaiting" });
}

/** Joins a prompt and an optional extra paragraph. */
const paragraphs = (text: string, extra: string | undefined) => (extra ? `${text}\n\n${extra}` : text);

/**
 * The collect step whose value a failed check may have refused: one taken earlier in this
 * rotation, while the value is still `<key>_new` (before the rename). Only checks offer it.
 */
function collectedBefore(r: Readonly<Rotation>, failed: StepRecord): StepRecord | undefined {
  if (failed.kind !== "verify") return undefined;
  const index = r.steps.indexOf(failed);
  if (r.steps.some((s, i) => i < index && s.kind === "vault_promote" && s.state === "done")) return undefined;
  return r.steps
    .slice(0, index)
    .reverse()
    .find((s) => s.kind === "collect" && (s.state === "done" || s.state === "skipped"));
}

/** "Send another value": the collect step asks again, and the automatic steps after it up to the failed one run again. */
function reopenCollect(r: Rotation, failed: StepRecord, ctx: TransitionContext): void {
  const collect = collectedBefore(r, failed);
  if (!collect) return;
  for (const s of r.steps.slice(r.steps.indexOf(collect), r.steps.indexOf(failed) + 1)) {
    const interaction = ctx.info(s)?.interaction;
    if (s !== collect && s !== failed && interaction !== "automatic") continue;
    s.state = "pending";
    delete s.message;
    delete s.endedAt;
  }
  if (r.endings) delete r.endings.new;
}

function stepFinished(
  r: Rotation,
  input: Extract<Input, { type: "step_finished" }>,
  ctx: TransitionContext,
  out: Out,
): void {
  const record = r.steps.find((s) => s.id === input.recordId);
  if (!record || record.state !== "running") return;
  record.endedAt = ctx.now;
  // The runner ends its whole process group when a command returns: nothing of it is left.
  delete record.process;
  const { outcome } = input;
  if (outcome.status === "failed") {
    record.message = outcome.message;
    if (r.aborting) {
      record.state = "interrupted";
      return;
    }
    record.state = input.cancelled ? "interrupted" : "failed";
    r.state = input.cancelled ? "interrupted" : "failed";
    r.message = `${record.title}: ${outcome.message}`;
    if (input.cancelled) {
      out.notices.push({ type: "interrupted" });
      return;
    }
    out.notices.push({ type: "step_failed", recordId: record.id, ms: input.ms });
    const guards = ctx.info(record)?.guards;
    const accepts: ResponseType[] = [
      "retry",
      "mark_done",
      ...(!guards && collectedBefore(r, record) ? (["another_value"] as const) : []),
      ...(r.pointOfNoReturn ? [] : (["abort"] as const)),
    ];
    const guard = guards ? { revoke: guards, noun: credentialNoun(r.category), oldEnding: r.endings?.old } : undefined;
    return ask(r, record, "failed", PROMPTS.failed(record, accepts, guard), accepts, ctx, out);
  }
  record.state = outcome.status;
  if (outcome.note) record.message = outcome.note;
  if (outcome.commit) r.commit = outcome.commit;
  measureOutage(r, record, ctx);
  measureExposure(r, record, ctx);
  if (ctx.outageSteps) r.environmentOutages = measureEnvironmentOutages(r, ctx.outageSteps);
  out.notices.push({ type: "step_finished", recordId: record.id, ms: input.ms });
  if (record.kind === "notify_owner") out.notices.push({ type: "owner_notified" });
  // A step that ends while an abort waits for it: the rotation stays "aborting", and nothing else starts.
  if (r.aborting) return;
  r.state = "running";
  advance(r, ctx, out);
}

function answer(
  r: Rotation,
  input: Extract<Input, { type: "answer" | "value_taken" | "value_refused" }>,
  ctx: TransitionContext,
  out: Out,
): Failure<RefusalReason> | undefined {
  const breakGlass = input.type === "answer" ? input.breakGlass : undefined;
  const refused = checkAnswer(r, input.nonce, input.response, input.actor, ctx, breakGlass);
  if (refused) return refused;
  const awaiting = r.awaiting!;
  const record = r.steps.find((s) => s.id === awaiting.stepId)!;
  const { actor, response } = input;
  if (breakGlass && needsSecondPerson(r, response, ctx.approval) && actor.id === r.initiator.id) {
    out.notices.push({ type: "break_glass", recordId: record.id, response, actor, reason: breakGlass });
  }
  if (awaiting.kind === "rollback_failed") {
    delete r.awaiting;
    if (response === "retry") return retryRollback(r, actor, ctx, out);
    endAborted(r, actor, PROMPTS.rollbackDoneByHand(r, actor.name), ctx, out);
    return undefined;
  }
  if (response === "cancel" || response === "abort") {
    const aborting = beginAbort(r, actor, ctx, out, false);
    if (aborting) return aborting;
    out.notices.unshift({ type: "answered", recordId: record.id, response, actor });
    return undefined;
  }
  delete r.awaiting;
  out.notices.push({ type: "answered", recordId: record.id, response, actor });
  const ending = input.type === "answer" ? undefined : input.ending;
  if (ending !== undefined) noteCreated(r, record, ending, ctx);
  if (input.type === "value_refused") {
    out.notices.push({ type: "value_checked", recordId: record.id, response, actor, refused: input.reason });
    ask(r, record, "collect", input.prompt, awaiting.accepts, ctx, out);
    return undefined;
  }
  if (input.type === "value_taken") {
    record.state = "done";
    record.attempts++;
    record.endedAt = ctx.now;
    record.message = input.note;
    r.endings = { ...r.endings, new: input.ending };
    out.notices.push({ type: "value_checked", recordId: record.id, response, actor });
    out.notices.push({ type: "step_finished", recordId: record.id, ms: 0 });
  }
  switch (response) {
    case "go":
      record.confirmedBy = actor;
      record.state = "pending";
      if (["confirm", "gate"].includes(ctx.info(record)?.interaction ?? "")) {
        record.state = "done";
        record.endedAt = ctx.now;
        record.message = PROMPTS.confirmedBy(actor.name);
        if (record.destructive) r.pointOfNoReturn ??= { stepId: record.id, at: ctx.now };
      }
      break;
    case "done":
      record.confirmedBy = actor;
      record.state = "pending";
      break;
    case "retry":
      record.state = "pending";
      break;
    case "another_value":
      reopenCollect(r, record, ctx);
      break;
    case "mark_done":
      record.state = "done";
      record.message = PROMPTS.markedDoneBy(actor.name);
      record.markedDoneBy = actor;
      if (record.destructive) r.pointOfNoReturn ??= { stepId: record.id, at: ctx.now };
      break;
    case "reuse_new":
      for (const step of r.steps) {
        if (step.kind === "generate" || step.kind === "collect") {
          step.state = "skipped";
          step.message = PROMPTS.reusing(r.key, actor.name);
          out.notices.push({ type: "step_finished", recordId: step.id, ms: 0 });
        }
      }
      break;
    case "replace_new":
      // The driver dropped `<key>_new` before this answer.
      if (r.endings) delete r.endings.new;
      break;
    default:
      // collect/added_myself: handled above.
      break;
  }
  r.state = "running";
  r.process = ctx.self;
  advance(r, ctx, out);
  return undefined;
}

function beginAbort(
  r: Rotation,
  actor: Actor,
  ctx: TransitionContext,
  out: Out,
  retry: boolean,
): Failure<RefusalReason> | undefined {
  if (r.state === "rollback_failed") {
    if (!retry) return fail("refused", REFUSALS.rollbackFailed(r));
    delete r.awaiting;
    return retryRollback(r, actor, ctx, out);
  }
  if (isTerminal(r)) return fail("refused", REFUSALS.ended(r));
  if (r.pointOfNoReturn) {
    const step = r.steps.find((s) => s.id === r.pointOfNoReturn!.stepId);
    return fail("refused", REFUSALS.pastPointOfNoReturn(step?.title ?? r.pointOfNoReturn.stepId));
  }
  if (r.aborting) return fail("busy", REFUSALS.aborting);
  const plan = ctx.rollbackPlan(r);
  r.aborting = { by: actor, at: ctx.now };
  r.rollback = { by: actor, at: ctx.now, steps: plan.steps, touched: plan.touched };
  r.state = "aborting";
  // Nothing is asked while the rollback runs; a retry or the end asks (or tells) anew.
  delete r.awaiting;
  out.notices.push({ type: "aborting", actor, retry: false });
  out.effects.push({ type: "cancel_running" }, { type: "roll_back", actor });
  return undefined;
}

/**
 * Runs a failed rollback again, every step from the first but a removal of `<key>_new` already done
 * (each is idempotent: it renders what the vault holds, the old value). Not only the failed ones: a reload that failed on a broken
 * config would otherwise meet the file its render made before the repair (staging-box's NATS test).
 */
function retryRollback(r: Rotation, actor: Actor, ctx: TransitionContext, out: Out): undefined {
  if (!r.rollback) {
    const plan = ctx.rollbackPlan(r);
    r.rollback = { by: actor, at: ctx.now, steps: plan.steps, touched: plan.touched };
  }
  for (const step of r.rollback.steps) {
    // The removal of <key>_new, once done, is done: it renders nothing.
    if (step.kind === "vault_drop_new" && step.state === "done") continue;
    step.state = "pending";
    delete step.message;
  }
  delete r.rollback.problems;
  r.aborting = { by: actor, at: ctx.now };
  r.state = "aborting";
  delete r.message;
  out.notices.push({ type: "aborting", actor, retry: true });
  out.effects.push({ type: "roll_back", actor });
  return undefined;
}

/** The rollback ended: aborted when it undid everything, else still in flight as "rollback_failed", asking what to do. */
function rolledBack(
  r: Rotation,
  input: Extract<Input, { type: "rolled_back" }>,
  ctx: TransitionContext,
  out: Out,
): void {
  if (!r.aborting) return;
  for (const step of r.steps) if (step.state === "running" || step.state === "awaiting") step.state = "interrupted";
  delete r.aborting;
  const rollback = (r.rollback ??= { by: input.actor, at: ctx.now, steps: [], touched: false });
  if (input.report.problems.length > 0) rollback.problems = input.report.problems;
  const undone = rollback.steps.every((s) => s.state === "done" || s.state === "skipped");
  if (undone && input.report.problems.length === 0) {
    endAborted(r, rollback.by, PROMPTS.aborted(r, rollback.by.name), ctx, out);
    return;
  }
  r.state = "rollback_failed";
  r.message = PROMPTS.rollbackFailed(r, rollback.by.name);
  out.notices.push({ type: "rollback_failed", actor: rollback.by });
  const record = currentStep(r) ?? r.steps[r.steps.length - 1]!;
  const accepts: ResponseType[] = ["retry", "mark_done"];
  ask(r, record, "rollback_failed", PROMPTS.rollbackFailedCard(r, accepts), accepts, ctx, out);
}

function endAborted(r: Rotation, actor: Actor, message: string, ctx: TransitionContext, out: Out): void {
  r.state = "aborted";
  r.endedAt = ctx.now;
  r.message = message;
  delete r.awaiting;
  delete r.aborting;
  out.effects.push({ type: "release_lock" });
  out.notices.push({ type: "aborted", actor });
}

/** A value the operator created outside (pasted or added by hand, taken or refused after its format check). */
function noteCreated(r: Rotation, record: StepRecord, ending: string, ctx: TransitionContext): void {
  const template = ctx.info(record)?.revokeIfUnused;
  if (template === undefined) return;
  r.created ??= [];
  if (r.created.some((c) => c.stepId === record.stepId && c.ending === ending)) return;
  r.created.push({
    stepId: record.stepId,
    ending,
    revoke: template.replaceAll("{ending}", `…${ending}`),
    at: ctx.now,
    state: "unused",
  });
}

/** Someone says the unused credentials were revoked: once the rotation ended (or its rollback failed), never before. */
function revoked(r: Rotation, actor: Actor, ctx: TransitionContext, out: Out): Failure<RefusalReason> | undefined {
  const open = (r.created ?? []).filter((c) => c.state === "unused");
  if (open.length === 0) return fail("stale", REFUSALS.nothingToRevoke(r.id));
  if (!isTerminal(r) && r.state !== "rollback_failed") return fail("refused", REFUSALS.revokeAfterEnd(r.id));
  for (const credential of open) {
    credential.state = "revoked";
    credential.revoked = { by: actor.name, at: ctx.now };
  }
  out.notices.push({ type: "revoked", actor });
  return undefined;
}

function recover(r: Rotation, ctx: TransitionContext, out: Out): void {
  if (isTerminal(r)) return;
  const running = r.steps.find((s) => s.state === "running");
  if (running) {
    running.state = "interrupted";
    running.message = PROMPTS.interruptedWhileRunning;
  }
  if (r.aborting) {
    abortInterrupted(r, out);
  } else if (running || r.state === "running") {
    r.state = "interrupted";
    out.notices.push({ type: "interrupted" });
  }
  const awaiting = r.awaiting;
  if (awaiting?.expiresAt !== undefined && awaiting.expiresAt <= ctx.now && !awaiting.expired) {
    lapseNamedApprover(r, ctx.approval, ctx.now);
    awaiting.expired = true;
    out.notices.push({ type: "prompt_expired", recordId: awaiting.stepId });
  }
}

/** A rollback that rotabot stopped (a crash or a shutdown) before its end: the operator aborts again. */
function abortInterrupted(r: Rotation, out: Out): void {
  delete r.aborting;
  r.state = "interrupted";
  r.message = PROMPTS.abortInterrupted;
  out.notices.push({ type: "interrupted" });
}

function resume(r: Rotation, ctx: TransitionContext, out: Out): Failure<RefusalReason> | undefined {
  if (isTerminal(r)) return fail("refused", REFUSALS.endedResume(r));
  if (r.aborting) return fail("busy", REFUSALS.aborting);
  r.process = ctx.self;
  if (r.awaiting) {
    // A fresh nonce: buttons of the earlier prompt (expired, or from before a restart) stop working.
    const { stepId, kind, prompt, accepts } = r.awaiting;
    const record = r.steps.find((s) => s.id === stepId) ?? r.steps[0]!;
    ask(r, record, kind, prompt, accepts, ctx, out);
    return undefined;
  }
  r.state = "running";
  advance(r, ctx, out);
  return undefined;
}
