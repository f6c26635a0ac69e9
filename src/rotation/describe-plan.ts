import type { EpilogueStep, Procedure, Runbook, Step } from "../runbook/runbook-schema.js";

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
    detail: detailOf(step),
    phase,
  });
  return [
    ...procedure.steps.map((s, i) => line(s, "procedure", i + 1)),
    ...runbook.epilogue.map((s, i) => line(s, "epilogue", procedure.steps.length + i + 1)),
  ];
}

function detailOf(step: Step | EpilogueStep): string | undefined {
  if ("argv" in step && step.argv) return step.argv.join(" ");
  if (step.kind === "nats_reload") return `${step.config_test.join(" ")} && ${step.reload.join(" ")}`;
  if ("check" in step && step.check) return `built-in check: ${step.check.builtin}`;
  if (step.kind === "postgres_set_password") return `ALTER ROLE ${step.role} PASSWORD '<SCRAM-SHA-256 verifier>'`;
  if (step.kind === "generate") return `${step.length} random characters (${step.alphabet}) from node:crypto`;
  return undefined;
}
