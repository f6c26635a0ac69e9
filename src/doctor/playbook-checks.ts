import { existsSync } from "node:fs";
import path from "node:path";
import { checkPlaybookSelectsTasks, type ListTasksDeps } from "../ansible/list-tasks.js";
import { describePlaybookArgv, isPlaybookArgv, selectionOf } from "../ansible/playbook-argv.js";
import { expandPlaceholders, type PlaceholderValues } from "../rotation/expand-placeholders.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import type { CheckResult } from "./doctor-checks.js";

/** One ansible-playbook command of the runbook, placeholders expanded, and the steps that run it. */
export interface PlaybookStep {
  argv: string[];
  usedBy: string[];
}

/**
 * Every ansible-playbook argv the runbook can run (steps, NATS reloads, rollbacks, epilogue,
 * deploy guard), with placeholders expanded as a rotation would: `{secret_key}` of a procedure
 * for a whole category is each manifest key of that category (or an example key when there is none).
 */
export function playbookStepsOf(
  runbook: Runbook,
  values: Omit<PlaceholderValues, "secret_key" | "new_key" | "rotation_id">,
  keysOfCategory: (category: string) => string[],
): PlaybookStep[] {
  const steps = new Map<string, PlaybookStep>();
  const add = (where: string, argv: readonly string[], keys: readonly string[]) => {
    if (!isPlaybookArgv(argv)) return;
    for (const key of keys) {
      const all = { ...values, secret_key: key, new_key: `${key}_new`, rotation_id: "doctor" };
      const expanded = argv.map((a) => expandPlaceholders(a, all));
      const id = expanded.join("\0");
      const known = steps.get(id);
      if (known) {
        if (!known.usedBy.includes(where)) known.usedBy.push(where);
      } else steps.set(id, { argv: expanded, usedBy: [where] });
    }
  };
  if (runbook.deploy_guard) add("deploy_guard", runbook.deploy_guard.argv, ["vault_example"]);
  for (const p of runbook.procedures) {
    const keys = p.secret
      ? [p.secret]
      : keysOfCategory(p.category).length > 0
        ? keysOfCategory(p.category)
        : [`vault_example_${p.category}`];
    for (const s of [...p.steps, ...p.rollback]) {
      if ("argv" in s && s.argv) add(`${p.id}/${s.id}`, s.argv, keys);
      if (s.kind === "nats_reload") {
        add(`${p.id}/${s.id}`, s.config_test, keys);
        add(`${p.id}/${s.id}`, s.reload, keys);
      }
    }
  }
  for (const s of runbook.epilogue) if ("argv" in s) add(`epilogue/${s.id}`, s.argv, ["vault_example"]);
  return [...steps.values()];
}

/**
 * `rotabot doctor`'s check that no ansible-playbook step can silently do nothing: each runs with
 * --list-tasks (same inventory, tags, limit, extra vars) and must select a task on a host. A
 * playbook missing from the infra checkout is left to the file checks.
 */
export async function runPlaybookChecks({
  steps,
  infraDir,
  deps,
  concurrency = 2,
}: {
  steps: readonly PlaybookStep[];
  infraDir: string;
  deps: ListTasksDeps;
  concurrency?: number;
}): Promise<CheckResult[]> {
  const results: CheckResult[] = new Array<CheckResult>(steps.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < steps.length; i = next++) {
      const step = steps[i]!;
      const call = describePlaybookArgv(step.argv)!;
      const check = `playbook ${selectionOf(call)}`;
      const used = `used by ${step.usedBy.join(", ")}`;
      if (call.playbooks.some((p) => !existsSync(path.resolve(infraDir, p)))) {
        results[i] = {
          check,
          status: "warn",
          detail: `not listed: the playbook is missing (${used})`,
          fix: "see the file check above",
        };
        continue;
      }
      const listed = await checkPlaybookSelectsTasks(step.argv, deps);
      results[i] = listed.ok
        ? listed.warnings.length > 0
          ? { check, status: "warn", detail: `${listed.summary} (${used})`, fix: listed.warnings.join("; ") }
          : { check, status: "ok", detail: `selects ${listed.summary} (${used})` }
        : { check, status: "fail", detail: `${listed.reason.replaceAll("_", " ")} (${used})`, fix: listed.message };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, steps.length) }, worker));
  return results;
}
