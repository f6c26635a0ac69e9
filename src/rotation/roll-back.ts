import path from "node:path";
import type { Runbook } from "../runbook/runbook-schema.js";
import { newKeyOf } from "../model/new-key.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import type { RollbackReport, RollbackStepRecord, Rotation } from "../model/rotation.js";
import { planRollback, rollbackStepsOf } from "./plan-rollback.js";
import { environmentOf } from "./step-definitions.js";
import { kindOf, type RollbackStep } from "../steps/registry.js";
import type { StepDeps } from "../steps/step-kind.js";

/** A rollback step started, or ended: the engine journals it and the front ends show it. */
export type RollbackStepUpdate = Pick<RollbackStepRecord, "id" | "state" | "message" | "logFile">;

/**
 * Runs the rollback journaled in `rotation.rollback` (see planRollback), from its first step not
 * yet done: a retry after a failed rollback starts again where it failed, and runs what follows.
 * Each step's start and end goes to `onStep` before the next one starts; a step that fails or
 * throws is a failed step (redacted) and the rollback goes on. The committed vault file is put
 * back when its content is the same, so the checkout is clean again. "interrupted" when `signal`
 * (a shutdown) stopped it before the end.
 */
export async function rollBack(
  rotation: Readonly<Rotation>,
  runbook: Runbook,
  deps: StepDeps,
  onStep: (update: RollbackStepUpdate) => Promise<unknown>,
  signal: AbortSignal = new AbortController().signal,
): Promise<RollbackReport | "interrupted"> {
  const procedure = runbook.procedures.find((p) => p.id === rotation.procedureId);
  const declared = procedure?.rollback ?? [];
  const definitions = rollbackStepsOf(rotation.key, declared);
  const planned = rotation.rollback?.steps ?? [];
  const from = planned.findIndex((s) => s.state !== "done" && s.state !== "skipped");
  const report: RollbackReport = { problems: [] };

  const runStep = async (record: RollbackStepRecord): Promise<RollbackStepUpdate> => {
    const step = definitions.find((s) => s.id === record.stepId);
    const logFile = path.join(deps.paths.stateDir, "logs", rotation.id, `rollback-${record.id}.log`);
    if (!step)
      return {
        id: record.id,
        state: "failed",
        message: `the runbook no longer has this rollback step; do it by hand: ${record.byHand}`,
      };
    try {
      const outcome = await executeOne(step, record, logFile);
      if (outcome.status === "failed") return { id: record.id, state: "failed", message: outcome.message, logFile };
      return { id: record.id, state: outcome.status, ...(outcome.note ? { message: outcome.note } : {}), logFile };
    } catch (error) {
      const message = deps.redactor.redact(error instanceof Error ? error.message : String(error));
      return {
        id: record.id,
        state: "failed",
        message: `unexpected error: ${message} (the rotabot log has the details)`,
      };
    }
  };

  const executeOne = async (step: RollbackStep, record: RollbackStepRecord, logFile: string) => {
    const values = async () => {
      const read = await readSecretValues(deps.vault, deps.redactor, rotation.key);
      return read.ok ? { ok: true as const, values: { ...read.values, promoted: false } } : read;
    };
    const outcome = await kindOf(step).execute(
      step,
      {
        rotation,
        record: {
          id: record.id,
          stepId: step.id,
          title: step.title,
          kind: step.kind,
          phase: "procedure",
          destructive: false,
          idempotent: true,
          state: "running",
          attempts: 1,
        },
        environment: environmentOf(runbook, record.environment),
        signal,
        onLine: () => undefined,
        logFile,
        values,
      },
      deps,
    );
    if (step.kind === "vault_drop_new" && outcome.status === "done" && (await deps.git.isRepository())) {
      const committed = await deps.git.showHead(runbook.files.vault);
      if (committed !== undefined) await deps.vault.restoreIfSameContent(committed);
    }
    return outcome;
  };

  // A shutdown stops the rollback between steps (and cancels the one running): it is not finished.
  for (const record of from < 0 ? [] : planned.slice(from)) {
    if (signal.aborted) return "interrupted";
    await onStep({ id: record.id, state: "running" });
    const ended = await runStep(record);
    if (signal.aborted && ended.state === "failed") return "interrupted";
    await onStep(ended);
  }
  if (signal.aborted) return "interrupted";
  const { ran } = planRollback(rotation, runbook, { key: rotation.key, paths: deps.paths });
  if (ran.length > 0 && declared.every((s) => s.kind === "vault_drop_new")) {
    const where = [...new Set(ran.map((r) => r.environment ?? "every environment"))].join(", ");
    report.problems.push(
      `${ran.map((r) => r.title).join(", ")} changed services in ${where} and this procedure declares no rollback: re-run them by hand now that ${newKeyOf(rotation.key)} is gone (they render the old value), and add \`rollback:\` steps to the runbook`,
    );
  }
  return report;
}
