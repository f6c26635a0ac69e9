import type { Runbook } from "../runbook/runbook-schema.js";
import { scopeOf } from "../runbook/runbook-schema.js";
import { newKeyOf } from "../model/new-key.js";
import { showPlaceholders, type PlanContext } from "./describe-plan.js";
import type { RollbackStepRecord, Rotation, StepRecord } from "../model/rotation.js";
import { definitionOf } from "./step-definitions.js";
import { kindOf, type RollbackStep } from "../steps/registry.js";

const RAN = new Set(["running", "done", "failed", "interrupted"]);

/** What an abort of this rotation would undo, and how. */
export interface RollbackPlan {
  steps: RollbackStepRecord[];
  /** The steps that changed services and ran (or were running): what the rollback must undo. */
  ran: StepRecord[];
  /** The procedure's own rollback steps; when it has none, rotabot only drops `<key>_new`. */
  declared: RollbackStep[];
}

/**
 * The rollback of a rotation that has not reached its point of no return, in the order it runs:
 * the procedure's `rollback` steps (`<key>_new` dropped first unless a `vault_drop_new` step says
 * when); steps that run once, once; per-environment steps in each environment the rotation
 * reached, the last first. Each step says how to do it by hand (paths filled in, never a value).
 * Pure: the engine journals it when the abort begins and the rollback runs it.
 */
export function planRollback(rotation: Readonly<Rotation>, runbook: Runbook, context: PlanContext): RollbackPlan {
  const procedure = runbook.procedures.find((p) => p.id === rotation.procedureId);
  const ran = rotation.steps.filter((record) => {
    const step = RAN.has(record.state) ? definitionOf(runbook, rotation, record) : undefined;
    return step !== undefined && kindOf(step).changesServices;
  });
  const reached = rotation.environments.filter((env) => ran.some((r) => r.environment === env)).reverse();
  const declared = procedure?.rollback ?? [];
  const steps = rollbackStepsOf(rotation.key, declared);
  const runs: [RollbackStep, string | undefined][] = [];
  for (let i = 0; i < steps.length;) {
    if (scopeOf(steps[i]!) === "once") {
      runs.push([steps[i]!, undefined]);
      i++;
      continue;
    }
    let end = i;
    while (end < steps.length && scopeOf(steps[end]!) === "environment") end++;
    for (const env of reached) for (const step of steps.slice(i, end)) runs.push([step, env]);
    i = end;
  }
  return {
    ran,
    declared,
    steps: runs.map(([step, environment]) => ({
      id: `${step.id}${environment ? `@${environment}` : ""}`,
      stepId: step.id,
      title: step.title,
      kind: step.kind,
      ...(environment ? { environment } : {}),
      state: "pending",
      byHand: byHand(step, rotation.key, runbook, environment, context),
    })),
  };
}

/** The procedure's rollback steps, with the drop of `<key>_new` first where they do not say when. */
export function rollbackStepsOf(key: string, declared: readonly RollbackStep[]): RollbackStep[] {
  if (declared.some((s) => s.kind === "vault_drop_new")) return [...declared];
  const drop: RollbackStep = {
    kind: "vault_drop_new",
    id: "vault_drop_new",
    title: `Remove ${newKeyOf(key)} from the vault`,
    destructive: false,
  };
  return [drop, ...declared];
}

function byHand(
  step: RollbackStep,
  key: string,
  runbook: Runbook,
  environment: string | undefined,
  context: PlanContext,
): string {
  if (step.kind === "vault_drop_new")
    return `delete ${newKeyOf(key)} with ansible-vault edit ${runbook.files.vault} --vault-password-file ${context.paths.vaultPasswordFile}`;
  const detail = kindOf(step).describe(step);
  const shown = detail && showPlaceholders(detail, runbook, environment, context);
  if (!shown) return `${step.title}${environment ? ` in ${environment}` : ""}`;
  // A playbook renders what the vault holds: the old value, once `<key>_new` is gone.
  return step.kind === "run" || step.kind === "nats_reload"
    ? `${shown} (it renders ${key}, the old value, once ${newKeyOf(key)} is gone)`
    : shown;
}
