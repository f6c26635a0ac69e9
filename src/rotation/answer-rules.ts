import { fail, type Failure } from "../result.js";
import type { Actor, ResponseType, Rotation } from "../model/rotation.js";
import { REFUSALS } from "./prompts.js";
import { isTerminal } from "./queries.js";
import type { RefusalReason, TransitionContext } from "./transition-io.js";

/*
 * Who may answer a prompt, and with what: the rules an answer passes before the state machine (or
 * the driver, for a pasted value) does anything with it.
 */

/**
 * Whether `actor` may give `response` to the current prompt. Only the initiator answers, except
 * that with the two-person rule every destructive decision (confirming a destructive step or a
 * gate, Done on a destructive manual step, Mark done on a failed or interrupted step) needs an
 * approver who is not the initiator, unless the initiator breaks the glass (the shell's
 * `--break-glass "<reason>"`, audited). An approver asked by name is the only one who may, until
 * a prompt waiting for them expires (see `lapseNamedApprover`).
 */
export function refusalFor(
  r: Readonly<Rotation>,
  actor: Actor,
  response: ResponseType,
  approval: TransitionContext["approval"],
  breakGlass?: string,
): string | undefined {
  if (needsSecondPerson(r, response, approval)) {
    if (actor.id === r.initiator.id)
      return breakGlass ? undefined : REFUSALS.secondPersonNeeded(response, namedApprover(r));
    if (!approval.approverIds.includes(actor.id)) return REFUSALS.onlyApprover;
    const named = namedApprover(r);
    if (named && actor.id !== r.approver!.id) return REFUSALS.onlyNamedApprover(named);
    return undefined;
  }
  return actor.id === r.initiator.id ? undefined : REFUSALS.onlyInitiator(r.initiator.name);
}

/** The approver asked by name, while the name holds. */
function namedApprover(r: Readonly<Rotation>): string | undefined {
  return r.approver && !r.approver.lapsed ? r.approver.name : undefined;
}

export function needsSecondPerson(
  r: Readonly<Rotation>,
  response: ResponseType,
  approval: TransitionContext["approval"],
): boolean {
  if (!approval.requireSecondApprover || !r.awaiting) return false;
  const { kind, stepId } = r.awaiting;
  if (response === "go") return kind === "destructive" || kind === "gate";
  if (response === "done") return kind === "manual" && r.steps.some((s) => s.id === stepId && s.destructive);
  return response === "mark_done";
}

/**
 * A prompt that needed the named approver expired unanswered: from now on any approver may approve
 * (the name holds for one CONFIRM_TIMEOUT, so an approver who cannot be reached never blocks a rotation).
 */
export function lapseNamedApprover(r: Rotation, approval: TransitionContext["approval"], now: string): boolean {
  if (!r.approver || r.approver.lapsed || !r.awaiting) return false;
  if (!r.awaiting.accepts.some((response) => needsSecondPerson(r, response, approval))) return false;
  r.approver.lapsed = now;
  return true;
}

/** Checks an answer before anything is done with it (the driver calls this before storing a pasted value). */
export function checkAnswer(
  r: Readonly<Rotation>,
  nonce: string,
  response: ResponseType,
  actor: Actor,
  ctx: Pick<TransitionContext, "now" | "approval" | "confirmTimeoutMs">,
  breakGlass?: string,
): Failure<RefusalReason> | undefined {
  const awaiting = r.awaiting;
  if (!awaiting || awaiting.nonce !== nonce || isTerminal(r)) return fail("stale", REFUSALS.stale);
  if (r.aborting) return fail("busy", REFUSALS.aborting);
  // A card that does not expire (a failed step's Mark done) that waited CONFIRM_TIMEOUT for the
  // named approver is open to any approver, as an expired card is after /resume.
  const waited = Date.parse(awaiting.since) + ctx.confirmTimeoutMs <= Date.parse(ctx.now);
  const asSeen =
    r.approver && !r.approver.lapsed && waited ? { ...r, approver: { ...r.approver, lapsed: ctx.now } } : r;
  const refusal = refusalFor(asSeen, actor, response, ctx.approval, breakGlass);
  if (refusal) return fail("not_allowed", refusal);
  if (awaiting.expired || (awaiting.expiresAt !== undefined && awaiting.expiresAt <= ctx.now)) {
    return fail("expired", REFUSALS.expired(r.id));
  }
  if (!awaiting.accepts.includes(response)) return fail("invalid", REFUSALS.notAccepted(awaiting.accepts));
  return undefined;
}
