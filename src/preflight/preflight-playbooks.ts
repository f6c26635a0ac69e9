import { checkPlaybookSelectsTasks, type ListTasksDeps } from "../ansible/list-tasks.js";
import { parsePlayRecap, parseTaskResults } from "../ansible/play-recap.js";
import { describePlaybookArgv, isPlaybookArgv, selectionOf } from "../ansible/playbook-argv.js";
import type { CheckResult } from "../doctor/doctor-checks.js";
import { expandPlaceholders } from "../steps/expand-placeholders.js";
import { withLimit } from "../steps/run-command.js";
import type { Environment, Procedure, Runbook } from "../runbook/runbook-schema.js";
import { newKeyOf } from "../model/new-key.js";

/** One ansible-playbook command a rotation would run in one environment, and whether `<key>_new` is in the vault then. */
export interface RehearsedCommand {
  argv: string[];
  environment: string | undefined;
  /** Before the rename (and, in a rollback, before `<key>_new` is dropped) the vault holds `<key>_new`. */
  withNew: boolean;
  usedBy: string[];
}

type Step = Procedure["steps"][number] | Procedure["rollback"][number] | Runbook["epilogue"][number];

function argvsOf(step: Step): readonly (readonly string[])[] {
  if (step.kind === "nats_reload") return [step.config_test, step.reload];
  return "argv" in step && step.argv ? [step.argv] : [];
}

/**
 * Every ansible-playbook command of a rotation of `key` by `procedure` (its steps, its rollback,
 * the epilogue) in each of `environments`, placeholders expanded as the rotation would, in order.
 * Commands that run once (no `{inventory}`) are listed once. The same command is listed once per
 * environment and vault state, with every step that uses it.
 */
export function rehearsedCommands(
  runbook: Runbook,
  procedure: Procedure,
  key: string,
  environments: readonly Environment[],
  values: { vault_password_file: string; infra_dir: string; state_dir: string },
): RehearsedCommand[] {
  const commands = new Map<string, RehearsedCommand>();
  const add = (where: string, step: Step, withNew: boolean) => {
    for (const argv of argvsOf(step)) {
      if (!isPlaybookArgv(argv)) continue;
      const perEnvironment = argv.some((a) => a.includes("{inventory}") || a.includes("{environment}"));
      for (const env of perEnvironment ? environments : [undefined]) {
        const expanded = withLimit(
          argv.map((a) =>
            expandPlaceholders(a, {
              ...values,
              ...(env ? { inventory: env.inventory, environment: env.name } : {}),
              secret_key: key,
              new_key: newKeyOf(key),
              rotation_id: "preflight",
            }),
          ),
          env?.limit,
        );
        const id = `${withNew}\0${expanded.join("\0")}`;
        const known = commands.get(id);
        if (known) {
          if (!known.usedBy.includes(where)) known.usedBy.push(where);
        } else commands.set(id, { argv: expanded, environment: env?.name, withNew, usedBy: [where] });
      }
    }
  };
  const promote = procedure.steps.findIndex((s) => s.kind === "vault_promote");
  procedure.steps.forEach((s, i) => add(`${procedure.id}/${s.id}`, s, promote === -1 || i < promote));
  const dropped = procedure.rollback.findIndex((s) => s.kind === "vault_drop_new");
  // rotabot drops `<key>_new` first when the rollback does not say when.
  procedure.rollback.forEach((s, i) => add(`${procedure.id}/rollback/${s.id}`, s, dropped !== -1 && i < dropped));
  for (const s of runbook.epilogue) add(`epilogue/${s.id}`, s, false);
  return [...commands.values()];
}

/** What a `--check --diff` run says: its verdict, and the redacted diff lines for a person to read. */
export interface Rehearsal {
  result: CheckResult;
  diff: string[];
}

const DIFF_LINE = /^([-+@]|--- |\+\+\+ )/;

/**
 * Rehearses one command: `--list-tasks` (it must select tasks, and not only `always` ones), then
 * the run itself with `--check --diff`, which changes nothing on the hosts (ansible skips the
 * modules that cannot simulate, such as command and uri; a task marked `check_mode: false` runs
 * as it always would). Before the rename the vault holds `<key>_new`: that is simulated with an
 * extra variable holding a placeholder that is no secret, so the playbook's own checks (`_new` is
 * there, or not yet) pass as in the rotation. The output is redacted by the command runner.
 */
export async function rehearse(
  command: RehearsedCommand,
  key: string,
  deps: ListTasksDeps,
  placeholder: string,
): Promise<Rehearsal> {
  const call = describePlaybookArgv(command.argv)!;
  const where = command.environment ? ` in ${command.environment}` : "";
  const check = `playbook ${selectionOf(call)}${where} --check --diff${command.withNew ? ` (with ${newKeyOf(key)})` : ""}`;
  const used = `used by ${command.usedBy.join(", ")}`;
  const extra = command.withNew ? ["-e", JSON.stringify({ [newKeyOf(key)]: placeholder })] : [];
  const listed = await checkPlaybookSelectsTasks([...command.argv, ...extra], deps);
  if (!listed.ok)
    return {
      result: { check, status: "fail", detail: `${listed.reason.replaceAll("_", " ")} (${used})`, fix: listed.message },
      diff: [],
    };
  const lines: string[] = [];
  const ran = await deps.runCommand({
    argv: [...command.argv, ...extra, "--check", "--diff"],
    timeoutMs: deps.timeoutMs ?? 600_000,
    onLine: (line) => lines.push(line),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const recap = parsePlayRecap(lines) ?? [];
  const results = parseTaskResults(lines) ?? [];
  const changed = [...new Set(results.filter((r) => r.status === "changed").map((r) => `${r.task} (${r.host})`))];
  const failedAt = results.filter((r) => r.status === "failed").at(-1);
  const diff = lines.filter((l) => DIFF_LINE.test(l));
  if (!ran.ok) {
    const errors = lines.filter((l) => /^(fatal:|failed:|ERROR!|\[ERROR\])/.test(l)).slice(-3);
    return {
      result: {
        check,
        status: "fail",
        detail: `the rehearsal failed${failedAt ? ` at "${failedAt.task}" on ${failedAt.host}` : ""} (${used}): ${errors.join(" ") || ran.message}`,
        fix: "a rotation would stop at this step: fix the playbook, the inventory or the host, then run rotabot preflight again",
      },
      diff,
    };
  }
  const hosts = recap.map((h) => h.host).join(", ") || "no host";
  return {
    result: {
      check,
      status: "ok",
      detail: `${listed.summary}; would change ${changed.length === 0 ? "nothing" : changed.join(", ")} on ${hosts} (${used})`,
    },
    diff,
  };
}
