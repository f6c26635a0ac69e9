import type { EpilogueStep, Procedure, Runbook, Step } from "../runbook/runbook-schema.js";
import { kindOf } from "./steps/registry.js";

export interface PlanLine {
  index: number;
  title: string;
  kind: string;
  destructive: boolean;
  /** The command as it will run (placeholders shown, never a value), or what the step does. */
  detail: string | undefined;
  phase: "procedure" | "epilogue";
}

/** The plan shown before a rotation starts: every step, its command, and which ones cannot be undone. */
export function describePlan(runbook: Runbook, procedure: Procedure): PlanLine[] {
  const line = (step: Step | EpilogueStep, phase: PlanLine["phase"], index: number): PlanLine => ({
    index,
    title: step.title,
    kind: step.kind,
    destructive: step.destructive,
    detail: kindOf(step).describe(step),
    phase,
  });
  return [
    ...procedure.steps.map((s, i) => line(s, "procedure", i + 1)),
    ...runbook.epilogue.map((s, i) => line(s, "epilogue", procedure.steps.length + i + 1)),
  ];
}
