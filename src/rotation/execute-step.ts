import path from "node:path";
import { addChangelogEntry, changelogLine } from "../changelog/add-changelog-entry.js";
import { setLastRotation } from "../manifest/update-manifest.js";
import { parseDuration } from "../runbook/duration.js";
import type { EpilogueStep, Step } from "../runbook/runbook-schema.js";
import { newKeyOf } from "../vault/create-vault.js";
import { expandPlaceholders, needsSecret, type PlaceholderValues } from "./expand-placeholders.js";
import { generateSecret } from "./generate-secret.js";
import { readSecretValues } from "./read-secret-values.js";
import { runBuiltinCheck } from "./run-builtin-check.js";
import type { StepDeps, StepOutcome, StepRun } from "./step-context.js";

type AutomaticStep = Exclude<Step | EpilogueStep, { kind: "collect" | "manual" | "confirm" }>;

/** Runs one step that needs no operator input; operator steps are handled by the engine. */
export async function executeStep(step: AutomaticStep, run: StepRun, deps: StepDeps): Promise<StepOutcome> {
  const { rotation } = run;
  const key = rotation.key;
  switch (step.kind) {
    case "generate": {
      const existing = await deps.vault.read(newKeyOf(key));
      if (!existing.ok) return { status: "failed", message: existing.message };
      if (existing.value !== undefined) return { status: "skipped", note: `${newKeyOf(key)} is already in the vault` };
      const value = generateSecret(step.length, step.alphabet);
      deps.redactor.add(value);
      // The vault is the value's only resting place: write it at once (the next step confirms it).
      const added = await deps.vault.addNew(key, value);
      return added.ok
        ? { status: "done", note: `generated ${step.length} characters (${step.alphabet}) into ${newKeyOf(key)}` }
        : { status: "failed", message: added.message };
    }
    case "vault_add_new": {
      const read = await readSecretValues(deps.vault, deps.redactor, key);
      if (!read.ok) return { status: "failed", message: read.message };
      if (read.values.next === undefined)
        return {
          status: "failed",
          message: `${newKeyOf(key)} is not in the vault; the previous step should have put it there. Retry that step, or add it with ansible-vault edit`,
        };
      return { status: "done", note: `${newKeyOf(key)} is in the vault (ends in …${read.values.next.slice(-4)})` };
    }
    case "run":
      return runCommandStep(step, run, deps);
    case "verify":
      if (step.check) return runBuiltinCheck(step.check, run, deps);
      if (step.argv) return runCommandStep({ ...step, argv: step.argv }, run, deps);
      return { status: "failed", message: "this verify step has neither argv nor check; fix the runbook" };
    case "wait_drain": {
      const deadline = Date.now() + (parseDuration(step.timeout) ?? 1_800_000);
      const interval = parseDuration(step.interval) ?? 15_000;
      for (;;) {
        const outcome = await runBuiltinCheck(step.check, run, deps);
        if (outcome.status !== "failed") return outcome;
        if (Date.now() + interval > deadline)
          return {
            status: "failed",
            message: `still not drained after ${step.timeout}: ${outcome.message}. Retry to keep waiting, or Mark done if you drained them by hand`,
          };
        if (await sleep(interval, run.signal)) return { status: "failed", message: "cancelled while waiting" };
      }
    }
    case "vault_promote": {
      const read = await readSecretValues(deps.vault, deps.redactor, key);
      if (!read.ok) return { status: "failed", message: read.message };
      // A crash after the (atomic) rename leaves no _new: the promote already happened.
      if (read.values.next === undefined && run.record.attempts > 1)
        return { status: "done", note: `${key} already holds the new value` };
      const promoted = await deps.vault.promote(key);
      return promoted.ok
        ? { status: "done", note: `${key} now holds the new value; the old one is gone from the vault` }
        : { status: "failed", message: promoted.message };
    }
    case "postgres_set_password": {
      const read = await readSecretValues(deps.vault, deps.redactor, key);
      if (!read.ok) return { status: "failed", message: read.message };
      const { current, next } = read.values;
      if (current === undefined || next === undefined)
        return { status: "failed", message: `${key} and ${newKeyOf(key)} must both be in the vault` };
      const outcome = await deps.postgres.setPassword(step, current, next);
      run.onLine(outcome.ok ? outcome.note : outcome.message);
      return outcome.ok ? { status: "done", note: outcome.note } : { status: "failed", message: outcome.message };
    }
    case "nats_reload": {
      const monitor = step.monitor_url ?? deps.env.NATS_MONITOR_URL ?? "http://127.0.0.1:8222";
      const test = await runCommandStep({ argv: step.config_test, timeout: "2m" }, run, deps);
      if (test.status === "failed")
        return {
          status: "failed",
          message: `the new NATS config does not validate, so NATS was not reloaded: ${test.message}`,
        };
      const before = await deps.nats.configLoadTime(monitor);
      const reload = await runCommandStep({ argv: step.reload, timeout: "2m" }, run, deps);
      if (reload.status === "failed") return reload;
      for (let i = 0; i < 50; i++) {
        const after = await deps.nats.configLoadTime(monitor);
        if (after !== undefined && after !== before)
          return { status: "done", note: `NATS reloaded its config (config_load_time ${after})` };
        if (await sleep(200, run.signal)) break;
      }
      return {
        status: "failed",
        message: `the reload command exited 0 but NATS (${monitor}/varz) shows no new config_load_time: check the nats-server log for "Failed to reload"`,
      };
    }
    case "manifest_update": {
      const date = deps.now().toISOString().slice(0, 10);
      const updated = await setLastRotation(deps.paths.manifestFile, key, date, rotation.category, deps.files);
      return updated.ok
        ? { status: "done", note: `last_rotation of ${key} is ${date}${updated.added ? " (entry added)" : ""}` }
        : { status: "failed", message: updated.message };
    }
    case "changelog_update": {
      const line = changelogLine(key, rotation.id, rotation.initiator.name, deps.now().toISOString().slice(0, 10));
      const added = await addChangelogEntry(deps.paths.changelogFile, line, deps.files);
      if (!added.ok) return { status: "failed", message: added.message };
      return {
        status: added.added ? "done" : "skipped",
        note: added.added ? "CHANGELOG.md has the entry" : "CHANGELOG.md already had the entry",
      };
    }
    case "git_commit": {
      if (!(await deps.git.isRepository())) return { status: "skipped", note: "INFRA_DIR is not a git checkout" };
      const files = [deps.runbook.files.vault, deps.runbook.files.manifest, deps.runbook.files.changelog];
      const message = `Rotate ${key}\n\nRotation ${rotation.id} by ${rotation.initiator.name}${rotation.incident ? ` (incident: ${rotation.incident.reason})` : ""}.`;
      const committed = await deps.git.commit(files, deps.redactor.redact(message));
      if (!committed.ok) return { status: "failed", message: committed.message };
      rotation.commit = committed.commit;
      if (step.push && committed.commit) {
        const pushed = await deps.git.push();
        if (!pushed.ok) return { status: "failed", message: pushed.message };
      }
      return {
        status: committed.commit ? "done" : "skipped",
        note: committed.commit ? `commit ${committed.commit}` : "nothing to commit",
      };
    }
    case "notify_owner":
      return { status: "done", note: "owner notification handed to the front end" };
  }
}

/** A `run`, argv `verify` or rollback step: placeholders expanded, secrets only by env and stdin. */
export async function runCommandStep(
  step: { argv: readonly string[]; env?: Readonly<Record<string, string>>; stdin?: string; timeout: string },
  run: Pick<StepRun, "rotation" | "signal" | "onLine" | "logFile">,
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
  };
  if (needsSecret(texts, "new_value") || needsSecret(texts, "old_value")) {
    const read = await readSecretValues(deps.vault, deps.redactor, run.rotation.key);
    if (!read.ok) return { status: "failed", message: read.message };
    const promoted = run.rotation.steps.some((s) => s.kind === "vault_promote" && s.state === "done");
    values.new_value = promoted ? read.values.current : read.values.next;
    if (!promoted) values.old_value = read.values.current;
  }
  let argv: string[], env: Record<string, string>, stdin: string | undefined;
  try {
    argv = step.argv.map((a) => expandPlaceholders(a, values));
    env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expandPlaceholders(v, values)]));
    stdin = step.stdin === undefined ? undefined : expandPlaceholders(step.stdin, values);
  } catch (error) {
    return {
      status: "failed",
      message: `${(error as Error).message} (the old value is gone after the promote step); fix the runbook step, then Mark done or Retry`,
    };
  }
  const result = await deps.runCommand({
    argv,
    env,
    ...(stdin !== undefined ? { stdin } : {}),
    timeoutMs: parseDuration(step.timeout) ?? 600_000,
    signal: run.signal,
    onLine: run.onLine,
    logFile: run.logFile,
  });
  if (result.ok) return { status: "done" };
  return {
    status: "failed",
    message: `${result.message}. Full output: ${path.relative(deps.paths.stateDir, run.logFile)}`,
  };
}

/** Resolves true when cancelled. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      { once: true },
    );
  });
}
