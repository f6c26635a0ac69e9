import type { Actor, Awaiting, ResponseType, Rotation, StepRecord } from "./model.js";
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
  | { type: "aborted"; rotation: Readonly<Rotation>; actor: Actor }
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
    case "aborted":
      return { type: "aborted", rotation: r, actor: notice.actor };
    case "owner_notified":
      return { type: "owner_notified", rotation: r, owner: r.owner };
    default:
      return { type: notice.type, rotation: r };
  }
}
