import type { Failure } from "../result.js";
import type {
  Actor,
  Interaction,
  ResponseType,
  RollbackReport,
  RollbackStepRecord,
  Rotation,
  StepOutcome,
  StepRecord,
} from "../model/rotation.js";

/*
 * What goes into the rotation state machine (transitions.ts) and what comes out of it: types only.
 */

/** What transitions need to know of a step's definition in the runbook. */
export interface StepInfo {
  interaction: Interaction;
  /** The question of a collect, confirm or manual step. */
  prompt?: string;
  /** For a check that proves a revoke happened: the revoke's title (Mark done then skips that proof). */
  guards?: string;
  /** A manual step's own label for Done ("I revoked it"). */
  doneLabel?: string;
  /**
   * For a collect step whose value the operator creates outside rotabot: what to do with one that
   * ends up unused, with `{ending}` for its last 4 characters ("revoke PAT {ending} in the SignalWire space").
   */
  revokeIfUnused?: string;
}

/** Everything a transition reads besides the rotation and the input; values only, no I/O. */
export interface TransitionContext {
  now: string;
  /** A fresh nonce, used when the transition asks the operator something. */
  nonce: string;
  /** A shutdown is under way: no further step starts. */
  stopping: boolean;
  self: { pid: number; host: string };
  confirmTimeoutMs: number;
  approval: { requireSecondApprover: boolean; approverIds: readonly string[] };
  /** The step's definition; undefined when the runbook no longer has it. */
  info(record: StepRecord): StepInfo | undefined;
  logFile(rotationId: string, recordId: string): string;
  /** The procedure's declared outage, if any: measured between two of its steps. */
  outage?: { what: string; from: string; to: string } | undefined;
  /** The step whose success proves the old value refused everywhere (the procedure's `compromise.refused_by`). */
  refusedBy?: string | undefined;
  /** Where a compromise order's outage is measured in each environment (the procedure's `compromise.outage_steps`). */
  outageSteps?: { from: string; to: string } | undefined;
  /** What an abort of the rotation would undo now: its rollback steps in order, and whether services changed. */
  rollbackPlan(r: Readonly<Rotation>): { steps: RollbackStepRecord[]; touched: boolean };
}

/** Everything that moves a rotation. Pasted values never come in here: the driver stores them first. */
export type Input =
  | { type: "begin"; leftoverNewEnding?: string; oldEnding?: string }
  | { type: "step_finished"; recordId: string; outcome: StepOutcome; cancelled: boolean; ms: number }
  | { type: "command_started"; recordId: string; process: NonNullable<StepRecord["process"]> }
  | {
      type: "answer";
      nonce: string;
      response: Exclude<ResponseType, "collect" | "added_myself">;
      actor: Actor;
      /** The initiator acts alone where the two-person rule asks for two: the reason, audited. */
      breakGlass?: string;
    }
  | {
      type: "value_taken";
      nonce: string;
      response: "collect" | "added_myself";
      actor: Actor;
      note: string;
      /** The value's last 4 characters, for the revoke cards. */
      ending: string;
    }
  | {
      type: "value_refused";
      nonce: string;
      response: "collect" | "added_myself";
      actor: Actor;
      prompt: string;
      /** Why, in a few words; never the value. */
      reason: string;
      /** Set when the value passed its format check: a credential was created outside, and must be revoked unused. */
      ending?: string;
    }
  /** `retryRollback`: run a failed rollback again (from where it failed). */
  | { type: "abort"; actor: Actor; retryRollback?: boolean }
  /** A rollback step started or ended. */
  | ({ type: "rollback_step" } & Pick<RollbackStepRecord, "id" | "state" | "message" | "logFile">)
  | { type: "rolled_back"; actor: Actor; report: RollbackReport }
  /** Someone says the credentials created for this rotation and left unused were revoked. */
  | { type: "revoked"; actor: Actor }
  | { type: "recover" }
  /** A shutdown stopped a rollback before its end. */
  | { type: "rollback_interrupted" }
  | { type: "resume" }
  | { type: "expire"; nonce: string }
  /** A step's executor threw: its (redacted) message. */
  | { type: "failed_unexpectedly"; recordId: string; message: string; cancelled: boolean; ms: number };

/** Work for the driver. */
export type Effect =
  | { type: "run_step"; recordId: string }
  | { type: "cancel_running" }
  | { type: "roll_back"; actor: Actor }
  | { type: "release_lock" }
  | { type: "schedule_expiry"; nonce: string; at: string };

/** What listeners hear; the driver attaches a snapshot of the rotation. */
export type Notice =
  | { type: "started" }
  | { type: "step_started"; recordId: string }
  | { type: "step_finished"; recordId: string; ms: number }
  | { type: "step_failed"; recordId: string; ms: number }
  | { type: "awaiting" }
  | { type: "answered"; recordId: string; response: ResponseType; actor: Actor }
  /** A value the operator sent (or added by hand) was checked: taken into the vault, or refused. */
  | { type: "value_checked"; recordId: string; response: ResponseType; actor: Actor; refused?: string }
  | { type: "break_glass"; recordId: string; response: ResponseType; actor: Actor; reason: string }
  | { type: "prompt_expired"; recordId: string }
  | { type: "completed" }
  /** An abort was journaled and its rollback starts (again, when `retry`); the rotation is "aborting". */
  | { type: "aborting"; actor: Actor; retry: boolean }
  | { type: "rollback_step"; id: string }
  /** The rollback could not undo everything: the rotation stays in flight, asking Retry or Mark done. */
  | { type: "rollback_failed"; actor: Actor }
  | { type: "aborted"; actor: Actor }
  | { type: "revoked"; actor: Actor }
  | { type: "owner_notified" }
  | { type: "interrupted" };

export type RefusalReason = "refused" | "stale" | "expired" | "invalid" | "not_allowed" | "busy";
export type Transition =
  { ok: true; rotation: Rotation; effects: Effect[]; notices: Notice[] } | Failure<RefusalReason>;
