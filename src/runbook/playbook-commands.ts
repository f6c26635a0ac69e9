import { isPlaybookArgv } from "../ansible/playbook-argv.js";
import { newKeyOf } from "../model/new-key.js";
import { expandPlaceholders, type PlaceholderValues } from "../steps/expand-placeholders.js";
import { stepCommands } from "../steps/registry.js";
import { withLimit } from "../steps/run-command.js";
import { allSteps, type Procedure, type Runbook } from "./runbook-schema.js";

/** One ansible-playbook command of the runbook, placeholders expanded, and the steps that run it. */
export interface PlaybookStep {
  argv: string[];
  usedBy: string[];
}

type Values = Omit<PlaceholderValues, "secret_key" | "new_key" | "rotation_id" | "inventory" | "environment">;

/**
 * Every ansible-playbook argv a procedure (with the epilogue and its rollback) runs for `keys`,
 * placeholders expanded as a rotation would, once for each environment of the runbook (with its
 * `limit`); the same command used by several steps is listed once.
 */
export function playbookCommandsOf(
  runbook: Runbook,
  values: Values,
  targets: readonly { procedure: Procedure; keys: readonly string[] }[],
  { epilogue = true, guard = false }: { epilogue?: boolean; guard?: boolean } = {},
): PlaybookStep[] {
  const steps = new Map<string, PlaybookStep>();
  const add = (where: string, argv: readonly string[], keys: readonly string[]) => {
    if (!isPlaybookArgv(argv)) return;
    const perEnvironment = argv.some((a) => a.includes("{inventory}") || a.includes("{environment}"));
    for (const env of runbook.environments) {
      for (const key of keys) {
        const all = {
          ...values,
          inventory: env.inventory,
          environment: env.name,
          secret_key: key,
          new_key: newKeyOf(key),
          rotation_id: "check",
        };
        const expanded = withLimit(
          argv.map((a) => expandPlaceholders(a, all)),
          perEnvironment ? env.limit : undefined,
        );
        const id = expanded.join("\0");
        const label = runbook.environments.length > 1 && perEnvironment ? `${where}@${env.name}` : where;
        const known = steps.get(id);
        if (known) {
          if (!known.usedBy.includes(label)) known.usedBy.push(label);
        } else steps.set(id, { argv: expanded, usedBy: [label] });
      }
    }
  };
  if (guard && runbook.deploy_guard) add("deploy_guard", runbook.deploy_guard.argv, ["vault_example"]);
  for (const { procedure: p, keys } of targets) {
    for (const s of [...allSteps(p), ...p.rollback])
      for (const argv of stepCommands(s)) add(`${p.id}/${s.id}`, argv, keys);
  }
  const anyKey = targets.flatMap((t) => t.keys).slice(0, 1);
  if (epilogue)
    for (const s of runbook.epilogue) for (const argv of stepCommands(s)) add(`epilogue/${s.id}`, argv, anyKey);
  return [...steps.values()];
}
