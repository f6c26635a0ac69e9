import path from "node:path";
import { checkTasksRan } from "../ansible/play-recap.js";
import { describePlaybookArgv, isPlaybookArgv } from "../ansible/playbook-argv.js";
import { STEP_MARK, stepMark } from "../exec/marked-processes.js";
import { parseDuration } from "../time/duration.js";
import { newKeyOf } from "../model/new-key.js";
import type { StepOutcome } from "../model/rotation.js";
import { expandPlaceholders, needsSecret, type PlaceholderValues } from "./expand-placeholders.js";
import type { EnvironmentTarget, StepDeps, StepRun } from "./step-kind.js";

/** The variables a step sees in its environment: the runbook's for it, and ROTABOT_ENVIRONMENT. */
export function envOf(environment: EnvironmentTarget | undefined): Record<string, string> {
  return environment ? { ...environment.env, ROTABOT_ENVIRONMENT: environment.name } : {};
}

/** A command as the runbook gives it. */
export interface CommandStep {
  argv: readonly string[];
  env?: Readonly<Record<string, string>>;
  stdin?: string;
  timeout: string;
}

/** Runs a `run`, argv `verify` or rollback command: placeholders expanded, secrets only by env and stdin. */
export async function runCommandStep(
  step: CommandStep,
  run: Pick<StepRun, "rotation" | "record" | "signal" | "onLine" | "logFile" | "values" | "environment" | "onProcess">,
  deps: StepDeps,
): Promise<StepOutcome> {
  const texts = [...Object.values(step.env ?? {}), step.stdin];
  const values: PlaceholderValues = {
    vault_password_file: deps.paths.vaultPasswordFile,
    infra_dir: deps.paths.infraDir,
    secret_key: run.rotation.key,
    new_key: newKeyOf(run.rotation.key),
    rotation_id: run.rotation.id,
    state_dir: deps.paths.stateDir,
    ...(run.environment ? { inventory: run.environment.inventory, environment: run.environment.name } : {}),
  };
  if (needsSecret(texts, "new_value") || needsSecret(texts, "old_value")) {
    const read = await run.values();
    if (!read.ok) return { status: "failed", message: read.message };
    const { current, next, promoted } = read.values;
    values.new_value = promoted ? current : next;
    if (!promoted) values.old_value = current;
  }
  let argv: string[], env: Record<string, string>, stdin: string | undefined;
  try {
    argv = withLimit(
      step.argv.map((a) => expandPlaceholders(a, values)),
      run.environment?.limit,
    );
    env = {
      ...envOf(run.environment),
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expandPlaceholders(v, values)])),
      // Found by a resume even if rotabot died before it journaled the command's process group.
      [STEP_MARK]: stepMark(run.rotation.id, run.record.id),
    };
    stdin = step.stdin === undefined ? undefined : expandPlaceholders(step.stdin, values);
  } catch (error) {
    return {
      status: "failed",
      message: `${(error as Error).message} (the old value is gone after the promote step); fix the runbook step, then Mark done or Retry`,
    };
  }
  const playbook = isPlaybookArgv(argv);
  const lines: string[] = [];
  const result = await deps.runCommand({
    argv,
    env,
    ...(stdin !== undefined ? { stdin } : {}),
    timeoutMs: parseDuration(step.timeout) ?? 600_000,
    signal: run.signal,
    onLine: (line) => {
      if (playbook) lines.push(line);
      run.onLine(line);
    },
    logFile: run.logFile,
    ...(run.onProcess ? { onStart: run.onProcess } : {}),
  });
  if (result.ok && playbook) {
    // ansible-playbook exits 0 when its tags or hosts select nothing: a run that ran no task failed.
    const ran = await checkPlaybookRan(argv, lines, deps);
    return ran === undefined ? { status: "done" } : { status: "failed", message: ran };
  }
  if (result.ok) return { status: "done" };
  return {
    status: "failed",
    message: `${result.message}. Full output: ${path.relative(deps.paths.stateDir, run.logFile)}`,
  };
}

/**
 * Whether a finished ansible-playbook run did the step's work (see checkTasksRan): facts gathering
 * never counts, and under `--tags` neither do the tasks that ran only because they are tagged
 * `always` (which `--list-tasks` names: remembered from the start checks, else listed now).
 * Undefined when it did; else why not.
 */
async function checkPlaybookRan(
  argv: readonly string[],
  lines: readonly string[],
  deps: Pick<StepDeps, "selectsTasks">,
): Promise<string | undefined> {
  const ran = checkTasksRan(lines);
  if (!ran.ok) return ran.message;
  if ((describePlaybookArgv(argv)?.tags.length ?? 0) === 0 || !deps.selectsTasks) return undefined;
  const listed = await deps.selectsTasks(argv);
  if (!listed.ok) return listed.reason === "selects_no_task" ? listed.message : undefined;
  const work = checkTasksRan(lines, listed.alwaysOnly);
  return work.ok ? undefined : work.message;
}

/** An environment's `limit` narrows every ansible-playbook run there (unless the step sets its own). */
export function withLimit(argv: string[], limit: string | undefined): string[] {
  if (
    limit === undefined ||
    !/(^|\/)ansible-playbook$/.test(argv[0] ?? "") ||
    argv.some((a) => a === "--limit" || a === "-l")
  ) {
    return argv;
  }
  return [...argv, "--limit", limit];
}
