import type { EpilogueStep, Runbook, Step } from "../runbook/runbook-schema.js";
import { newRotationId } from "./create-journal.js";
import type { Rotation, StepRecord } from "./rotation-model.js";
import type { StartRequest } from "./create-rotation-engine.js";

/** Step kinds that are safe to run again after an interruption unless the runbook says otherwise. */
const IDEMPOTENT_KINDS: ReadonlySet<string> = new Set([
  "generate",
  "vault_add_new",
  "verify",
  "wait_drain",
  "vault_promote",
  "nats_reload",
  "manifest_update",
  "changelog_update",
  "git_commit",
  "notify_owner",
]);

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
    idempotent: step.idempotent ?? IDEMPOTENT_KINDS.has(step.kind),
    state: "pending",
    attempts: 0,
  });
  return {
    version: 1,
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
