import type { EpilogueStep, Procedure, Runbook, Step } from "../runbook/runbook-schema.js";
import { newRotationId } from "./create-journal.js";
import type { Actor, Rotation, StepRecord } from "./model.js";
import { kindOf } from "./steps/registry.js";

/** What a front end asks for when it starts a rotation. */
export interface StartRequest {
  procedure: Procedure;
  key: string;
  initiator: Actor;
  environment?: string;
  incident?: { reason: string };
  owner?: string | undefined;
}

/** A fresh rotation record: the procedure's steps, then the runbook's epilogue, all pending. */
export function newRotation(
  runbook: Runbook,
  request: StartRequest,
  now: Date,
  self: { pid: number; host: string },
): Rotation {
  const record = (step: Step | EpilogueStep, phase: StepRecord["phase"]): StepRecord => ({
    id: step.id,
    title: step.title,
    kind: step.kind,
    phase,
    destructive: step.destructive,
    idempotent: step.idempotent ?? kindOf(step).idempotent,
    state: "pending",
    attempts: 0,
  });
  return {
    version: 2,
    id: newRotationId(now),
    key: request.key,
    procedureId: request.procedure.id,
    category: request.procedure.category,
    initiator: request.initiator,
    environment: request.environment ?? "staging",
    ...(request.incident ? { incident: request.incident } : {}),
    ...(request.owner ? { owner: request.owner } : {}),
    state: "running",
    process: self,
    steps: [
      ...request.procedure.steps.map((s) => record(s, "procedure")),
      ...runbook.epilogue.map((s) => record(s, "epilogue")),
    ],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}
