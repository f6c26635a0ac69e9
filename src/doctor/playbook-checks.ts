import { existsSync } from "node:fs";
import path from "node:path";
import { checkPlaybookSelectsTasks, type ListTasksDeps } from "../ansible/list-tasks.js";
import { pingHosts } from "../ansible/ping-hosts.js";
import { describePlaybookArgv, selectionOf } from "../ansible/playbook-argv.js";
import { playbookCommandsOf, type PlaybookStep } from "../runbook/playbook-commands.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import type { CheckResult } from "./doctor-checks.js";

export type { PlaybookStep } from "../runbook/playbook-commands.js";

/**
 * Every ansible-playbook argv the runbook can run (steps, NATS reloads, rollbacks, epilogue,
 * deploy guard), with placeholders expanded as a rotation would: `{secret_key}` of a procedure
 * for a whole category is each manifest key of that category (or an example key when there is none).
 */
export function playbookStepsOf(
  runbook: Runbook,
  values: Parameters<typeof playbookCommandsOf>[1],
  keysOfCategory: (category: string) => string[],
): PlaybookStep[] {
  const targets = runbook.procedures.map((procedure) => {
    const keys = procedure.secret ? [procedure.secret] : keysOfCategory(procedure.category);
    return { procedure, keys: keys.length > 0 ? keys : [`vault_example_${procedure.category}`] };
  });
  return playbookCommandsOf(runbook, values, targets, { guard: true });
}

/** The hosts the playbook steps would run on, per inventory, and which steps go there. */
export interface PlaybookTarget {
  inventory: string | undefined;
  host: string;
  usedBy: string[];
}

/**
 * `rotabot doctor`'s check that no ansible-playbook step can silently do nothing: each runs with
 * --list-tasks (same inventory, tags, limit, extra vars) and must select a task on a host. A
 * playbook missing from the infra checkout is left to the file checks. Also returns the hosts
 * the steps would run on, for the reachability check.
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
}): Promise<{ results: CheckResult[]; targets: PlaybookTarget[] }> {
  const results: CheckResult[] = new Array<CheckResult>(steps.length);
  const targets = new Map<string, PlaybookTarget>();
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
      if (listed.ok)
        for (const host of listed.hosts) {
          const key = `${call.inventory[0] ?? ""}\0${host}`;
          const target = targets.get(key) ?? { inventory: call.inventory[0], host, usedBy: [] };
          target.usedBy.push(...step.usedBy.filter((u) => !target.usedBy.includes(u)));
          targets.set(key, target);
        }
      results[i] = listed.ok
        ? listed.warnings.length > 0
          ? { check, status: "warn", detail: `${listed.summary} (${used})`, fix: listed.warnings.join("; ") }
          : { check, status: "ok", detail: `selects ${listed.summary} (${used})` }
        : { check, status: "fail", detail: `${listed.reason.replaceAll("_", " ")} (${used})`, fix: listed.message };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, steps.length) }, worker));
  return { results, targets: [...targets.values()] };
}

/**
 * Whether ansible, as the user running rotabot, can log in to every host a playbook step runs
 * on (`ansible -m ping`): the SSH key in that user's HOME, the inventory's user, the host up.
 */
export async function runHostChecks({
  targets,
  vaultPasswordFile,
  deps,
}: {
  targets: readonly PlaybookTarget[];
  vaultPasswordFile: string;
  deps: ListTasksDeps;
}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const inventory of new Set(targets.map((t) => t.inventory))) {
    const here = targets.filter((t) => t.inventory === inventory);
    const reach = await pingHosts({ inventory, hosts: here.map((t) => t.host), vaultPasswordFile }, deps);
    for (const r of reach) {
      const used = here.find((t) => t.host === r.host)!.usedBy;
      const where = `${inventory ?? "the default inventory"}; ${used.length} step${used.length === 1 ? "" : "s"} run there`;
      results.push(
        r.ok
          ? { check: `host ${r.host}`, status: "ok", detail: `ansible logs in and runs a module (${where})` }
          : {
              check: `host ${r.host}`,
              status: "fail",
              detail: `ansible cannot run a module there (${where}): ${r.message}`,
              fix: `let the user running rotabot log in to ${r.host}: an SSH key in its HOME (~/.ssh) that the host accepts, or ansible_user / ansible_ssh_private_key_file in the inventory; check that the host is up`,
            },
      );
    }
  }
  return results;
}
