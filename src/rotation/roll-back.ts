import path from "node:path";
import type { Runbook } from "../runbook/runbook-schema.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import type { Rotation } from "./model.js";
import { runCommandStep } from "./steps/run-command.js";
import type { StepDeps } from "./steps/step-kind.js";

/**
 * Undoes a rotation that has not reached its point of no return: drops `<key>_new`, puts back
 * the committed vault file when its content is the same (re-encryption changes the bytes, which
 * would leave the checkout dirty), and runs the procedure's rollback steps. Returns what could
 * not be undone, each with its reason; empty when everything is as before.
 */
export async function rollBack(rotation: Readonly<Rotation>, runbook: Runbook, deps: StepDeps): Promise<string[]> {
  const dropped = await deps.vault.dropNew(rotation.key);
  const problems = dropped.ok ? [] : [dropped.message];
  if (dropped.ok && (await deps.git.isRepository())) {
    const committed = await deps.git.showHead(runbook.files.vault);
    if (committed !== undefined) await deps.vault.restoreIfSameContent(committed);
  }
  const procedure = runbook.procedures.find((p) => p.id === rotation.procedureId);
  const values = async () => {
    const read = await readSecretValues(deps.vault, deps.redactor, rotation.key);
    return read.ok ? { ok: true as const, values: { ...read.values, promoted: false } } : read;
  };
  for (const step of procedure?.rollback ?? []) {
    const logFile = path.join(deps.paths.stateDir, "logs", rotation.id, `rollback-${step.id}.log`);
    const signal = new AbortController().signal;
    const result = await runCommandStep(step, { rotation, signal, onLine: () => undefined, logFile, values }, deps);
    if (result.status === "failed") problems.push(`${step.title}: ${result.message}`);
  }
  return problems;
}
