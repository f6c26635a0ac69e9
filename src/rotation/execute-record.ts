import { markedProcesses, stepMark } from "../exec/marked-processes.js";
import { processGroupAlive, processStartOf } from "../exec/process-group.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { sleep } from "../time/sleep.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import type { DeployMarker } from "./create-deploy-marker.js";
import type { Rotation, StepOutcome, StepRecord } from "../model/rotation.js";
import { definitionOf, environmentOf } from "./step-definitions.js";
import { kindOf } from "../steps/registry.js";
import type { StepDeps } from "../steps/step-kind.js";

/** How long a step waits for its earlier run, orphaned by a crash, to end. */
const ORPHAN_WAIT_MS = 30 * 60_000;

export interface ExecuteRecordDeps extends StepDeps {
  runbook: Runbook;
  /** Taken before a step that changes services (kept until the rotation ends). */
  deployMarker: DeployMarker | undefined;
  self: { pid: number; host: string };
}

export interface ExecuteHooks {
  signal: AbortSignal;
  logFile: string;
  onLine: (line: string) => void;
  onProcess: (process: NonNullable<StepRecord["process"]>) => void;
}

/**
 * Runs one step of a rotation: reads the secret's values (registering them for redaction before
 * anything can print), waits for a run of the same step that a crash left behind, takes the deploy
 * marker before a step that changes services (it stays held until the rotation ends: between
 * steps, a deploy would render a half-rotated vault), and runs the kind's executor. The outcome is
 * redacted.
 */
export async function executeRecord(
  r: Readonly<Rotation>,
  record: StepRecord,
  hooks: ExecuteHooks,
  deps: ExecuteRecordDeps,
): Promise<StepOutcome> {
  const step = definitionOf(deps.runbook, r, record);
  if (!step) return { status: "failed", message: `step ${record.id} is no longer in the runbook` };
  const promoted = r.steps.some((s) => s.kind === "vault_promote" && s.state === "done");
  const read = await readSecretValues(deps.vault, deps.redactor, r.key);
  if (!read.ok) return { status: "failed", message: read.message };
  // Read once per step run; a step that writes the vault reads it itself.
  const known = { ok: true as const, values: { ...read.values, promoted } };
  const kind = kindOf(step);
  const orphan = await waitForEarlierRun(r, record, hooks);
  if (orphan) return orphan;
  const marker = kind.changesServices ? deps.deployMarker : undefined;
  const held = await marker?.hold(r.id, record.title, r.incident !== undefined);
  if (held && !held.ok) return { status: "failed", message: held.message };
  const outcome = await kind.execute(
    step,
    {
      rotation: r,
      record,
      environment: environmentOf(deps.runbook, record.environment),
      signal: hooks.signal,
      logFile: hooks.logFile,
      onLine: hooks.onLine,
      onProcess: (pgid) => {
        const start = processStartOf(pgid);
        hooks.onProcess({ pgid, host: deps.self.host, ...(start !== undefined ? { start } : {}) });
      },
      values: () => Promise.resolve(known),
    },
    deps,
  );
  return outcome.status === "failed"
    ? { status: "failed", message: deps.redactor.redact(outcome.message) }
    : { ...outcome, ...(outcome.note ? { note: deps.redactor.redact(outcome.note) } : {}) };
}

/**
 * A command of this step that a crash left running (its process group still alive) is waited
 * for, never run a second time alongside; after ORPHAN_WAIT_MS the step fails with how to stop it.
 * When the crash came before the process group was journaled, the step's mark finds the command.
 */
async function waitForEarlierRun(
  r: Readonly<Rotation>,
  record: StepRecord,
  hooks: ExecuteHooks,
): Promise<StepOutcome | undefined> {
  const earlier = record.process;
  const journaled =
    earlier !== undefined &&
    processGroupAlive(earlier.pgid) &&
    (earlier.start === undefined || [undefined, earlier.start].includes(processStartOf(earlier.pgid)));
  if (!journaled) return waitForMarked(stepMark(r.id, record.id), hooks);
  hooks.onLine(
    `an earlier run of this step (process group ${earlier.pgid}) is still running: waiting for it to end before running the step again`,
  );
  const deadline = Date.now() + ORPHAN_WAIT_MS;
  while (processGroupAlive(earlier.pgid)) {
    if (Date.now() > deadline || (await sleep(1_000, hooks.signal))) {
      return {
        status: "failed",
        message: `an earlier run of this step is still running as process group ${earlier.pgid}: wait for it, or stop it (kill -TERM -${earlier.pgid}), then Retry`,
      };
    }
  }
  hooks.onLine(`the earlier run (process group ${earlier.pgid}) has ended`);
  return undefined;
}

/** The commands of a step found by its mark (STEP_MARK): waited for like a journaled process group. */
async function waitForMarked(mark: string, hooks: ExecuteHooks): Promise<StepOutcome | undefined> {
  let pids = markedProcesses(mark);
  if (pids.length === 0) return undefined;
  hooks.onLine(
    `an earlier run of this step (processes ${pids.join(", ")}, started before rotabot could note them) is still running: waiting for it to end before running the step again`,
  );
  const deadline = Date.now() + ORPHAN_WAIT_MS;
  while (pids.length > 0) {
    if (Date.now() > deadline || (await sleep(1_000, hooks.signal))) {
      return {
        status: "failed",
        message: `an earlier run of this step is still running as processes ${pids.join(", ")}: wait for them, or stop them (kill -TERM ${pids.join(" ")}), then Retry`,
      };
    }
    pids = markedProcesses(mark);
  }
  hooks.onLine("the earlier run has ended");
  return undefined;
}
