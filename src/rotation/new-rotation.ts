import type { Environment, EpilogueStep, Procedure, Runbook, Step } from "../runbook/runbook-schema.js";
import { scopeOf, stepsInOrder } from "../runbook/runbook-schema.js";
import { newRotationId } from "./create-journal.js";
import type { Actor, Rotation, StepRecord } from "../model/rotation.js";
import { kindOf } from "../steps/registry.js";

/** What a front end asks for when it starts a rotation. */
export interface StartRequest {
  procedure: Procedure;
  key: string;
  initiator: Actor;
  incident?: { reason: string };
  /** The approver asked by name, if any (the front end checked they are one). */
  approver?: Actor | undefined;
  /** A suspected compromise: the reason, when the value may have leaked (else now), and the order chosen. */
  compromise?: { reason: string; since?: Date | undefined; order: "compromise" | "routine" };
  owner?: string | undefined;
  /** The ops chat's forum topic it was asked for in, if any. */
  topic?: number | undefined;
}

/** The suffix of a gate's record, and of a check run before one. */
export const GATE_STEP_ID = "gate";
export const BEFORE_GATE = "-before-gate";

/**
 * The steps of a rotation, in order. Steps that run once stay as they are; each run of
 * consecutive per-environment steps repeats for every environment in rollout order. After the
 * first such run in an environment comes the smoke test (the epilogue's `before_each_gate` check)
 * and a gate into the next environment, so revokes and the vault rename happen only when every
 * environment is on the new value. The epilogue follows, its per-environment steps in each.
 * The compromise order runs the procedure's `compromise.order` instead, without gates unless it asks for them.
 */
export function planSteps(
  runbook: Runbook,
  procedure: Procedure,
  order: "routine" | "compromise" = "routine",
): StepRecord[] {
  const steps = stepsInOrder(procedure, order);
  const gated = order === "compromise" && procedure.compromise ? procedure.compromise.gates : procedure.rollout.gate;
  const envs = runbook.environments;
  const several = envs.length > 1;
  const idFor = (stepId: string, env: Environment | undefined) => (env && several ? `${stepId}@${env.name}` : stepId);
  const record = (
    step: Step | EpilogueStep,
    phase: StepRecord["phase"],
    env: Environment | undefined,
    id = idFor(step.id, env),
  ): StepRecord => ({
    id,
    stepId: step.id,
    ...(env ? { environment: env.name } : {}),
    title: step.title,
    kind: step.kind,
    phase,
    destructive: step.destructive,
    idempotent: step.idempotent ?? kindOf(step).idempotent,
    state: "pending",
    attempts: 0,
  });
  const gateCheck = runbook.epilogue.find((s) => s.kind === "run" && s.before_each_gate);
  const records: StepRecord[] = [];
  let rolledOut = false;
  for (let i = 0; i < steps.length;) {
    const first = steps[i]!;
    if (scopeOf(first) === "once") {
      records.push(record(first, "procedure", undefined));
      i++;
      continue;
    }
    let end = i;
    while (end < steps.length && scopeOf(steps[end]!) === "environment") end++;
    const block = steps.slice(i, end);
    // The rollout is the first block that changes services; checks before it (a service that
    // works before the token changes) are not gated.
    const rollout: boolean = !rolledOut && block.some((step) => kindOf(step).changesServices);
    envs.forEach((env, k) => {
      for (const step of block) records.push(record(step, "procedure", env));
      const next = envs[k + 1];
      if (!rollout || !next || !gated) return;
      if (gateCheck) {
        const check = record(gateCheck, "epilogue", env, idFor(`${gateCheck.id}${BEFORE_GATE}`, env));
        records.push({ ...check, title: `${gateCheck.title} (before the rollout to ${next.name})` });
      }
      records.push({
        id: `${GATE_STEP_ID}@${next.name}`,
        stepId: GATE_STEP_ID,
        environment: next.name,
        title: `Roll out to ${next.name}`,
        kind: "gate",
        phase: "procedure",
        destructive: false,
        idempotent: true,
        state: "pending",
        attempts: 0,
      });
    });
    rolledOut ||= rollout;
    i = end;
  }
  for (const step of runbook.epilogue) {
    if (scopeOf(step) === "once") records.push(record(step, "epilogue", undefined));
    else for (const env of envs) records.push(record(step, "epilogue", env));
  }
  return records;
}

/** A fresh rotation record, all steps pending. */
export function newRotation(
  runbook: Runbook,
  request: StartRequest,
  now: Date,
  self: { pid: number; host: string },
): Rotation {
  return {
    version: 2,
    id: newRotationId(now),
    key: request.key,
    procedureId: request.procedure.id,
    category: request.procedure.category,
    initiator: request.initiator,
    environments: runbook.environments.map((e) => e.name),
    ...(request.incident || request.compromise
      ? { incident: request.incident ?? { reason: request.compromise!.reason } }
      : {}),
    ...(request.compromise
      ? {
          compromise: {
            reason: request.compromise.reason,
            since: (request.compromise.since ?? now).toISOString(),
            sinceGiven: request.compromise.since !== undefined,
            order: request.compromise.order,
          },
        }
      : {}),
    ...(request.approver ? { approver: request.approver } : {}),
    ...(request.owner ? { owner: request.owner } : {}),
    ...(request.topic !== undefined ? { topic: request.topic } : {}),
    state: "running",
    process: self,
    steps: planSteps(runbook, request.procedure, request.compromise?.order),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}
