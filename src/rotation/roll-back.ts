import path from "node:path";
import type { Runbook } from "../runbook/runbook-schema.js";
import { scopeOf } from "../runbook/runbook-schema.js";
import { newKeyOf } from "../vault/create-vault.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import type { RollbackReport, Rotation } from "./model.js";
import { definitionOf, environmentOf } from "./step-definitions.js";
import { kindOf, type RollbackStep } from "./steps/registry.js";
import type { StepDeps } from "./steps/step-kind.js";

const RAN = new Set(["running", "done", "failed", "interrupted"]);

/**
 * Undoes a rotation that has not reached its point of no return. The procedure's `rollback`
 * steps run in order (`<key>_new` is dropped first unless a `vault_drop_new` step says when):
 * steps that run once, once; per-environment steps in each environment the rotation reached,
 * the last first. The committed vault file is put back when its content is the same, so the
 * checkout is clean again. "interrupted" when `signal` (a shutdown) stopped it before the end.
 */
export async function rollBack(
  rotation: Readonly<Rotation>,
  runbook: Runbook,
  deps: StepDeps,
  signal: AbortSignal = new AbortController().signal,
): Promise<RollbackReport | "interrupted"> {
  const procedure = runbook.procedures.find((p) => p.id === rotation.procedureId);
  const ran = rotation.steps.filter((record) => {
    const step = RAN.has(record.state) ? definitionOf(runbook, rotation, record) : undefined;
    return step !== undefined && kindOf(step).changesServices;
  });
  const reached = rotation.environments.filter((env) => ran.some((r) => r.environment === env)).reverse();
  const report: RollbackReport = { undone: [], problems: [], touched: ran.length > 0 };
  const declared = procedure?.rollback ?? [];
  const steps: RollbackStep[] = declared.some((s) => s.kind === "vault_drop_new")
    ? declared
    : [
        {
          kind: "vault_drop_new",
          id: "vault_drop_new",
          title: `Remove ${newKeyOf(rotation.key)} from the vault`,
          destructive: false,
        },
        ...declared,
      ];

  /** One rollback step; whatever it throws is a problem of the report, and the rollback goes on. */
  const runOne = async (step: RollbackStep, environment: string | undefined) => {
    try {
      await runStep(step, environment);
    } catch (error) {
      const message = deps.redactor.redact(error instanceof Error ? error.message : String(error));
      report.problems.push(
        `${where(step, environment)}: unexpected error: ${message} (the rotabot log has the details)`,
      );
    }
  };
  const where = (step: RollbackStep, environment: string | undefined) =>
    `${step.title}${environment ? ` in ${environment}` : ""}`;
  const runStep = async (step: RollbackStep, environment: string | undefined) => {
    const logFile = path.join(
      deps.paths.stateDir,
      "logs",
      rotation.id,
      `rollback-${step.id}${environment ? `@${environment}` : ""}.log`,
    );
    const values = async () => {
      const read = await readSecretValues(deps.vault, deps.redactor, rotation.key);
      return read.ok ? { ok: true as const, values: { ...read.values, promoted: false } } : read;
    };
    const record = {
      id: step.id,
      stepId: step.id,
      title: step.title,
      kind: step.kind,
      phase: "procedure" as const,
      destructive: false,
      idempotent: true,
      state: "running" as const,
      attempts: 1,
    };
    const outcome = await kindOf(step).execute(
      step,
      {
        rotation,
        record,
        environment: environmentOf(runbook, environment),
        signal,
        onLine: () => undefined,
        logFile,
        values,
      },
      deps,
    );
    if (outcome.status === "failed") {
      report.problems.push(`${where(step, environment)}: ${outcome.message}`);
      return;
    }
    report.undone.push({ title: step.title, kind: step.kind, ...(environment ? { environment } : {}) });
    if (step.kind === "vault_drop_new" && (await deps.git.isRepository())) {
      const committed = await deps.git.showHead(runbook.files.vault);
      if (committed !== undefined) await deps.vault.restoreIfSameContent(committed);
    }
  };

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
  // A shutdown stops the rollback between steps (and cancels the one running): it is not finished.
  for (const [step, env] of runs) {
    if (signal.aborted) return "interrupted";
    await runOne(step, env);
  }
  if (signal.aborted) return "interrupted";
  if (report.touched && declared.every((s) => s.kind === "vault_drop_new")) {
    const where = [...new Set(ran.map((r) => r.environment ?? "every environment"))].join(", ");
    report.problems.push(
      `${ran.map((r) => r.title).join(", ")} changed services in ${where} and this procedure declares no rollback: re-run them by hand now that ${newKeyOf(rotation.key)} is gone (they render the old value), and add \`rollback:\` steps to the runbook`,
    );
  }
  return report;
}
