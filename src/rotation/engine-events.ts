import type { Actor, Awaiting, ResponseType, RollbackStepRecord, Rotation, StepRecord } from "../model/rotation.js";
import type { Notice } from "./transition-io.js";

/** What front ends (chat, shell, audit) hear: snapshots, never the engine's own object, never a secret value. */
export type EngineEvent =
  | { type: "started" | "completed" | "interrupted"; rotation: Readonly<Rotation> }
  | { type: "step_started" | "prompt_expired"; rotation: Readonly<Rotation>; step: StepRecord }
  | { type: "step_finished" | "step_failed"; rotation: Readonly<Rotation>; step: StepRecord; ms: number }
  | { type: "output"; rotation: Readonly<Rotation>; step: StepRecord; line: string }
  | { type: "awaiting"; rotation: Readonly<Rotation>; awaiting: Awaiting }
  | { type: "answered"; rotation: Readonly<Rotation>; step: StepRecord; response: ResponseType; actor: Actor }
  /** A value sent (or added by hand) was checked: `refused` says why it was not taken; never the value. */
  | {
      type: "value_checked";
      rotation: Readonly<Rotation>;
      step: StepRecord;
      response: ResponseType;
      actor: Actor;
      refused?: string;
    }
  | {
      type: "break_glass";
      rotation: Readonly<Rotation>;
      step: StepRecord;
      response: ResponseType;
      actor: Actor;
      reason: string;
    }
  /**
   * An abort was journaled: the rotation is "aborting" and its rollback (`rotation.rollback.steps`)
   * starts, or starts again after a failure (`retry`). Heard at once, long before the rollback ends.
   */
  | { type: "aborting"; rotation: Readonly<Rotation>; actor: Actor; retry: boolean }
  /** A rollback step started or ended (its state says which). */
  | { type: "rollback_step"; rotation: Readonly<Rotation>; step: RollbackStepRecord }
  /** The rollback could not undo everything: the rotation stays in flight ("rollback_failed"); its message says what to do. */
  | { type: "rollback_failed"; rotation: Readonly<Rotation>; actor: Actor }
  | { type: "aborted"; rotation: Readonly<Rotation>; actor: Actor }
  /** Someone said the credentials the rotation left unused were revoked. */
  | { type: "revoked"; rotation: Readonly<Rotation>; actor: Actor }
  | { type: "owner_notified"; rotation: Readonly<Rotation>; owner: string | undefined };

/** A transition's notice as listeners hear it, with the snapshot it happened in. */
export function toEngineEvent(notice: Notice, r: Readonly<Rotation>): EngineEvent {
  const step = (id: string) => r.steps.find((s) => s.id === id)!;
  switch (notice.type) {
    case "step_started":
    case "prompt_expired":
      return { type: notice.type, rotation: r, step: step(notice.recordId) };
    case "step_finished":
    case "step_failed":
      return { type: notice.type, rotation: r, step: step(notice.recordId), ms: notice.ms };
    case "awaiting":
      return { type: "awaiting", rotation: r, awaiting: r.awaiting! };
    case "answered":
      return {
        type: "answered",
        rotation: r,
        step: step(notice.recordId),
        response: notice.response,
        actor: notice.actor,
      };
    case "value_checked": {
      const { recordId, ...rest } = notice;
      return { ...rest, rotation: r, step: step(recordId) };
    }
    case "break_glass": {
      const { recordId, ...rest } = notice;
      return { ...rest, rotation: r, step: step(recordId) };
    }
    case "aborting":
      return { type: "aborting", rotation: r, actor: notice.actor, retry: notice.retry };
    case "rollback_step":
      return { type: "rollback_step", rotation: r, step: r.rollback!.steps.find((s) => s.id === notice.id)! };
    case "rollback_failed":
    case "aborted":
    case "revoked":
      return { type: notice.type, rotation: r, actor: notice.actor };
    case "owner_notified":
      return { type: "owner_notified", rotation: r, owner: r.owner };
    default:
      return { type: notice.type, rotation: r };
  }
}
