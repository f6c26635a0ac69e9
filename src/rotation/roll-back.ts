import path from "node:path";
import { runCommandStep } from "./execute-step.js";
import type { Rotation } from "./rotation-model.js";
import type { StepDeps } from "./step-context.js";

/**
 * Undoes a rotation that has not reached its point of no return: drops `<key>_new`, puts back
 * the committed vault file when its content is the same (re-encryption changes the bytes, which
 * would leave the checkout dirty), and runs the procedure's rollback steps. Returns what could
 * not be undone, each with its reason; empty when everything is as before.
 */
export async function rollBack(rotation: Rotation, deps: StepDeps): Promise<string[]> {
  const dropped = await deps.vault.dropNew(rotation.key);
  const problems = dropped.ok ? [] : [dropped.message];
  if (dropped.ok && (await deps.git.isRepository())) {
    const committed = await deps.git.showHead(deps.runbook.files.vault);
    if (committed !== undefined) await deps.vault.restoreIfSameContent(committed);
  }
  const procedure = deps.runbook.procedures.find((p) => p.id === rotation.procedureId);
  for (const step of procedure?.rollback ?? []) {
    const logFile = path.join(deps.paths.stateDir, "logs", rotation.id, `rollback-${step.id}.log`);
    const result = await runCommandStep(
      step,
      { rotation, signal: new AbortController().signal, onLine: () => undefined, logFile },
      deps,
    );
    if (result.status === "failed") problems.push(`${step.title}: ${result.message}`);
  }
  return problems;
}
