import type { BuiltinCheck } from "../checks/registry.js";
import { runCheck } from "../checks/registry.js";
import type { StepOutcome } from "../model/rotation.js";
import { envOf } from "./run-command.js";
import type { StepDeps, StepRun } from "./step-kind.js";

/** Runs a built-in check of the runbook (verify, manual and wait_drain steps use them). */
export async function runBuiltinCheck(check: BuiltinCheck, run: StepRun, deps: StepDeps): Promise<StepOutcome> {
  const read = await run.values();
  if (!read.ok) return { status: "failed", message: read.message };
  const { current, next, promoted } = read.values;
  // After the promote step the canonical key holds the new value.
  const values = { current, next, promoted, newValue: promoted ? current : next };
  const result = await runCheck(check, values, run.rotation, deps.services, envOf(run.environment));
  if ("missing" in result) {
    return { status: "failed", message: `the ${result.missing} value of ${run.rotation.key} is not in the vault` };
  }
  run.onLine(result.ok ? result.note : result.message);
  return result.ok ? { status: "done", note: result.note } : { status: "failed", message: result.message };
}
