import { randomBytes } from "node:crypto";
import path from "node:path";
import { allSteps, stepsInOrder, type Runbook } from "../runbook/runbook-schema.js";
import type { Rotation, StepRecord } from "../model/rotation.js";
import { BEFORE_GATE } from "./new-rotation.js";
import { kindOf, type AnyStep } from "../steps/registry.js";
import type { EnvironmentTarget } from "../steps/step-kind.js";
import type { TransitionContext } from "./transition-io.js";

/** The runbook step a record runs (a gate is made up from the rotation); undefined when the runbook lost it. */
export function definitionOf(runbook: Runbook, r: Readonly<Rotation>, record: StepRecord): AnyStep | undefined {
  if (record.kind === "gate") {
    const to = record.environment ?? "";
    const from = r.environments[r.environments.indexOf(to) - 1] ?? "the previous environment";
    const smokeTested = r.steps.some((s) => s.environment === from && s.id.includes(BEFORE_GATE));
    return {
      kind: "gate",
      id: record.stepId,
      title: record.title,
      destructive: false,
      from,
      to,
      smoke_tested: smokeTested,
    };
  }
  if (record.phase === "epilogue") return runbook.epilogue.find((s) => s.id === record.stepId);
  const procedure = runbook.procedures.find((p) => p.id === r.procedureId);
  return procedure && allSteps(procedure).find((s) => s.id === record.stepId);
}

/** Where a per-environment step runs, as the runbook describes that environment. */
export function environmentOf(runbook: Runbook, name: string | undefined): EnvironmentTarget | undefined {
  const env = name === undefined ? undefined : runbook.environments.find((e) => e.name === name);
  return env && { name: env.name, inventory: env.inventory, limit: env.limit, env: env.env };
}

/**
 * The title of the revoke a check proves, if it is one: a check right after a destructive manual
 * step (revoke in a dashboard), or the Telegram old-token check (the new token was the revoke).
 */
function revokeGuardedBy(runbook: Runbook, r: Readonly<Rotation>, step: AnyStep): string | undefined {
  if (step.kind !== "verify") return undefined;
  const procedure = runbook.procedures.find((p) => p.id === r.procedureId);
  const steps = procedure ? stepsInOrder(procedure, r.compromise?.order ?? "routine") : [];
  const before = steps.slice(0, steps.indexOf(step)).reverse();
  // Telegram: the revoke is the operator's "I revoked it" (a destructive manual step), or, in a runbook without it, the new token.
  if (step.check?.builtin === "telegram_old_token_revoked")
    return (before.find((s) => s.kind === "manual" && s.destructive) ?? before.find((s) => s.kind === "collect"))
      ?.title;
  return before[0]?.kind === "manual" && before[0].destructive ? before[0].title : undefined;
}

/** What the pure transitions read of the world for one rotation: the clock, a fresh nonce, the runbook's steps. */
export function transitionContext(
  deps: {
    runbook: Runbook;
    now: () => Date;
    self: { pid: number; host: string };
    confirmTimeoutMs: number;
    approval: TransitionContext["approval"];
    paths: { stateDir: string };
  },
  r: Readonly<Rotation>,
  stopping: boolean,
): Omit<TransitionContext, "rollbackPlan"> {
  return {
    now: deps.now().toISOString(),
    nonce: randomBytes(4).toString("hex"),
    stopping,
    self: deps.self,
    confirmTimeoutMs: deps.confirmTimeoutMs,
    approval: deps.approval,
    info: (record) => {
      const step = definitionOf(deps.runbook, r, record);
      if (!step) return undefined;
      const kind = kindOf(step);
      const prompt = kind.prompt?.(step);
      const guards = record.phase === "procedure" ? revokeGuardedBy(deps.runbook, r, step) : undefined;
      const doneLabel = step.kind === "manual" ? step.done_label : undefined;
      const revokeIfUnused = step.kind === "collect" ? step.revoke_if_unused : undefined;
      return {
        interaction: kind.interaction,
        ...(prompt !== undefined ? { prompt } : {}),
        ...(guards !== undefined ? { guards } : {}),
        ...(doneLabel !== undefined ? { doneLabel } : {}),
        ...(revokeIfUnused !== undefined ? { revokeIfUnused } : {}),
      };
    },
    logFile: (rotationId, recordId) => path.join(deps.paths.stateDir, "logs", rotationId, `${recordId}.log`),
    outage: deps.runbook.procedures.find((p) => p.id === r.procedureId)?.outage,
    refusedBy: deps.runbook.procedures.find((p) => p.id === r.procedureId)?.compromise?.refused_by,
    outageSteps:
      r.compromise?.order === "compromise"
        ? deps.runbook.procedures.find((p) => p.id === r.procedureId)?.compromise?.outage_steps
        : undefined,
  };
}
