import type { Failure } from "../result.js";
import type { Actor, Interaction, ResponseType, RollbackReport, Rotation, StepOutcome, StepRecord } from "./model.js";

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
    }
  | { type: "abort"; actor: Actor }
  | { type: "rolled_back"; actor: Actor; report: RollbackReport }
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
  | { type: "aborted"; actor: Actor }
  | { type: "owner_notified" }
  | { type: "interrupted" };

export type RefusalReason = "refused" | "stale" | "expired" | "invalid" | "not_allowed" | "busy";
export type Transition =
  { ok: true; rotation: Rotation; effects: Effect[]; notices: Notice[] } | Failure<RefusalReason>;
