import type { BuiltinCheck } from "../runbook/runbook-schema.js";
import { readSecretValues } from "./read-secret-values.js";
import type { StepDeps, StepOutcome, StepRun } from "./step-context.js";

/** Runs a built-in check of the runbook (verify, manual and wait_drain steps use them). */
export async function runBuiltinCheck(check: BuiltinCheck, run: StepRun, deps: StepDeps): Promise<StepOutcome> {
  const read = await readSecretValues(deps.vault, deps.redactor, run.rotation.key);
  if (!read.ok) return { status: "failed", message: read.message };
  const { current, next } = read.values;
  const promoted = run.rotation.steps.some((s) => s.kind === "vault_promote" && s.state === "done");
  // After promote the canonical key holds the new value.
  const newValue = promoted ? current : next;
  const missing = (what: string): StepOutcome => ({
    status: "failed",
    message: `the ${what} value of ${run.rotation.key} is not in the vault`,
  });
  const outcome = async () => {
    switch (check.builtin) {
      case "postgres_login": {
        const password = check.use === "new" ? newValue : current;
        return password === undefined ? undefined : deps.postgres.login(check, password);
      }
      case "postgres_old_sessions_gone": {
        const changed = run.rotation.steps.find((s) => s.kind === "postgres_set_password")?.endedAt;
        if (newValue === undefined || changed === undefined) return undefined;
        return deps.postgres.oldSessionsGone(check, newValue, changed);
      }
      case "telegram_same_bot":
        return current === undefined || newValue === undefined || promoted
          ? undefined
          : deps.telegram.sameBot(current, newValue);
      case "telegram_test_alert":
        return newValue === undefined ? undefined : deps.telegram.testAlert(newValue, check.text);
      case "telegram_old_token_revoked":
        return current === undefined || promoted ? undefined : deps.telegram.oldTokenRevoked(current);
      case "nats_stream_health": {
        const password = check.use === "new" ? newValue : current;
        return password === undefined ? undefined : deps.nats.streamHealth(check, password);
      }
    }
  };
  const result = await outcome();
  if (result === undefined) return missing(check.builtin.includes("old") ? "old" : "new");
  run.onLine(result.ok ? result.note : result.message);
  return result.ok ? { status: "done", note: result.note } : { status: "failed", message: result.message };
}
