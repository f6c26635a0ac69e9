import type { Procedure, Runbook } from "../runbook/runbook-schema.js";
import type { Rotation } from "./model.js";
import { planSteps } from "./new-rotation.js";
import { definitionOf } from "./step-definitions.js";
import { kindOf } from "./steps/registry.js";

export interface PlanLine {
  index: number;
  title: string;
  kind: string;
  destructive: boolean;
  /** Where it runs, for steps that run in each environment. */
  environment: string | undefined;
  /** The command as it will run (placeholders shown, never a value), or what the step does. */
  detail: string | undefined;
  phase: "procedure" | "epilogue";
}

/**
 * The plan shown before a rotation starts: every step in the order it will run (per-environment
 * steps once in each environment, with the gates between them), its command, and which ones
 * cannot be undone.
 */
export function describePlan(runbook: Runbook, procedure: Procedure): PlanLine[] {
  const steps = planSteps(runbook, procedure);
  const environments = runbook.environments.map((e) => e.name);
  const draft = { procedureId: procedure.id, environments, steps } as Pick<
    Rotation,
    "procedureId" | "environments" | "steps"
  > as Rotation;
  return steps.map((record, i) => {
    const step = definitionOf(runbook, draft, record);
    return {
      index: i + 1,
      title: record.title,
      kind: record.kind,
      destructive: record.destructive,
      environment: record.environment,
      detail: step ? kindOf(step).describe(step) : undefined,
      phase: record.phase,
    };
  });
}
