import type { CommandResult, CommandSpec } from "../exec/create-command-runner.js";
import { fail, type Result } from "../result.js";
import { describePlaybookArgv, listTasksArgv, selectionOf, type PlaybookCall } from "./playbook-argv.js";

/** A task as `ansible-playbook --list-tasks` shows it. */
export interface ListedTask {
  name: string;
  tags: string[];
}

/** A play as `--list-tasks --list-hosts` shows it: its host pattern, the hosts it matched, its tasks. */
export interface ListedPlay {
  playbook: string;
  name: string;
  pattern: string;
  /** Undefined when the output had no `--list-hosts` section. */
  hosts: string[] | undefined;
  tasks: ListedTask[];
}

// ANSI colours, when ansible thinks it writes to a terminal (ANSIBLE_FORCE_COLOR).
const ANSI = new RegExp(String.raw`\u001b\[[0-9;]*m`, "g");
const PLAY = /^ {2}play #\d+ \((.*)\): (.*?)\tTAGS: \[.*\]$/;
const TASK = /^ {6}(.*?)\tTAGS: \[(.*)\]$/;

/** Parses the output of `ansible-playbook --list-tasks [--list-hosts]` (ansible-core 2.14). */
export function parseListTasks(output: string | readonly string[]): ListedPlay[] {
  const lines = (typeof output === "string" ? output.split("\n") : output).map((l) => l.replace(ANSI, ""));
  const plays: ListedPlay[] = [];
  let playbook = "";
  let section: "hosts" | "tasks" | undefined;
  for (const line of lines) {
    const book = /^playbook: (.*)$/.exec(line);
    if (book) {
      playbook = book[1]!;
      section = undefined;
      continue;
    }
    const play = PLAY.exec(line);
    if (play) {
      plays.push({ playbook, pattern: play[1]!, name: play[2]!, hosts: undefined, tasks: [] });
      section = undefined;
      continue;
    }
    const current = plays.at(-1);
    if (!current) continue;
    if (/^ {4}hosts \(\d+\):$/.test(line)) {
      current.hosts = [];
      section = "hosts";
    } else if (/^ {4}tasks:$/.test(line)) {
      section = "tasks";
    } else if (/^ {4}\S/.test(line)) {
      section = undefined;
    } else if (section === "hosts" && /^ {6}\S/.test(line)) {
      current.hosts!.push(line.trim());
    } else if (section === "tasks") {
      const task = TASK.exec(line);
      if (task)
        current.tasks.push({
          name: task[1]!,
          tags: task[2]!
            .split(",")
            .map((t) => t.trim())
            .filter(Boolean),
        });
    }
  }
  return plays;
}

export type SelectionFailure = "not_a_playbook" | "list_failed" | "selects_no_task" | "targets_no_host";

/** What a playbook step would run, from `--list-tasks`. */
export interface TaskSelection {
  call: PlaybookCall;
  plays: ListedPlay[];
  /** Tasks of plays that match at least one host: what the run would do. */
  tasks: ListedTask[];
  hosts: string[];
  /** One line for a report: "2 tasks on localhost". */
  summary: string;
  /** Selections that may still do nothing at run time (dynamic includes under --tags). */
  warnings: string[];
  /**
   * Tasks listed only because they are tagged `always` (they run under any `--tags`) and carry
   * none of the step's tags: not the work the step asks for, so a run that ran only these did nothing.
   */
  alwaysOnly: string[];
}

/** Tags ansible gives a meaning of its own: with one of them asked for, every listed task is asked for. */
const SPECIAL_TAGS = new Set(["all", "tagged", "untagged"]);

/**
 * Whether a listed task is there for the step's tags, not only because it is tagged `always`
 * (ansible-core 2.14 runs and lists `always` tasks under any `--tags`: a playbook whose only task
 * matching `--tags nothere` is an `always` task lists that task and runs it, PLAY RECAP ok=1).
 */
export function selectedForTags(task: ListedTask, tags: readonly string[]): boolean {
  if (tags.length === 0 || tags.some((t) => SPECIAL_TAGS.has(t))) return true;
  return task.tags.some((t) => tags.includes(t));
}

export interface ListTasksDeps {
  /** Runs a command in the infra checkout (rotabot's command runner). */
  runCommand: (spec: CommandSpec) => Promise<CommandResult>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DYNAMIC_INCLUDE = /^(ansible\.builtin\.)?include(_tasks|_role)?$/;

async function list(argv: readonly string[], deps: ListTasksDeps) {
  const lines: string[] = [];
  const result = await deps.runCommand({
    argv: listTasksArgv(argv),
    timeoutMs: deps.timeoutMs ?? 120_000,
    ...(deps.signal ? { signal: deps.signal } : {}),
    onLine: (line) => lines.push(line),
  });
  return { result, lines };
}

/**
 * Lists what an `ansible-playbook` argv would run (same inventory, tags, skip-tags, limit, extra
 * vars and vault password file, plus --list-tasks --list-hosts) and fails, with the fix, when it
 * would run nothing: no task selected (a `--tags` that matches no task runs nothing and exits 0),
 * or no host matched by the plays that have tasks. Connects to no host.
 */
export async function checkPlaybookSelectsTasks(
  argv: readonly string[],
  deps: ListTasksDeps,
): Promise<Result<TaskSelection, SelectionFailure>> {
  const call = describePlaybookArgv(argv);
  if (!call) return fail("not_a_playbook", `${argv[0] ?? "(empty)"} is not ansible-playbook; nothing to list`);
  const what = selectionOf(call);
  const { result, lines } = await list(argv, deps);
  if (!result.ok) {
    const error = lines.filter((l) => /^(ERROR!|\[ERROR\]|fatal:)/.test(l)).at(-1) ?? result.message;
    return fail(
      "list_failed",
      `ansible-playbook --list-tasks failed for ${what}: ${error}; fix the playbook, the inventory or the step's options`,
    );
  }
  const plays = parseListTasks(lines);
  const withTasks = plays.filter((p) => p.tasks.length > 0);
  if (withTasks.length === 0) {
    if (call.tags.length === 0 && call.skipTags.length === 0)
      return fail(
        "selects_no_task",
        `${call.playbooks.join(" ")} has no task to run: add its tasks, or point the step at the right playbook`,
      );
    const available = await availableTags(argv, deps);
    return fail(
      "selects_no_task",
      `--tags ${call.tags.join(",") || "(none)"}${call.skipTags.length > 0 ? ` --skip-tags ${call.skipTags.join(",")}` : ""} selects no task in ${call.playbooks.join(" ")}: check the tag names${available.length > 0 ? ` (its tasks are tagged ${available.join(", ")})` : " (its tasks have no tags)"}`,
    );
  }
  const running = withTasks.filter((p) => p.hosts === undefined || p.hosts.length > 0);
  if (running.length === 0) {
    const patterns = [...new Set(withTasks.map((p) => p.pattern))].join(", ");
    return fail(
      "targets_no_host",
      `the plays of ${what} that have tasks target "${patterns}", which matches no host in ${call.inventory.join(", ") || "the inventory"}${call.limit ? ` with --limit ${call.limit}` : ""}: add the host to the inventory, or fix the play's hosts`,
    );
  }
  const listed = running.flatMap((p) => p.tasks);
  const tasks = listed.filter((t) => selectedForTags(t, call.tags));
  const alwaysOnly = [...new Set(listed.filter((t) => !selectedForTags(t, call.tags)).map((t) => t.name))];
  if (tasks.length === 0) {
    const available = await availableTags(argv, deps);
    return fail(
      "selects_no_task",
      `--tags ${call.tags.join(",")} selects only tasks tagged \`always\` in ${call.playbooks.join(" ")} (${alwaysOnly.join(", ")}): they run under any tag, so a run would do none of what ${call.tags.join(",")} names and still exit 0; check the tag names${available.length > 0 ? ` (its tasks are tagged ${available.join(", ")})` : ""}`,
    );
  }
  const hosts = [...new Set(running.flatMap((p) => p.hosts ?? []))].sort();
  const warnings =
    call.tags.length > 0 && tasks.every((t) => DYNAMIC_INCLUDE.test(t.name))
      ? [
          `${what} selects only dynamic includes: their tasks run only if they carry the tag too (use import_tasks, or include_tasks with apply: {tags: ...})`,
        ]
      : [];
  return {
    ok: true,
    call,
    plays,
    tasks,
    hosts,
    summary: `${tasks.length} task${tasks.length === 1 ? "" : "s"}${alwaysOnly.length > 0 ? ` (and ${alwaysOnly.length} tagged always)` : ""} on ${hosts.length > 0 ? hosts.join(", ") : "its hosts"}`,
    warnings,
    alwaysOnly,
  };
}

/** Every tag of the playbook's tasks (listed with --tags all,never instead of the step's), for the fix. */
async function availableTags(argv: readonly string[], deps: ListTasksDeps): Promise<string[]> {
  const untagged: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (["--tags", "-t", "--skip-tags"].includes(arg)) i++;
    else if (!/^(--tags=|--skip-tags=|-t.)/.test(arg)) untagged.push(arg);
  }
  const { result, lines } = await list([...untagged, "--tags", "all,never"], deps);
  if (!result.ok) return [];
  const tags = new Set(parseListTasks(lines).flatMap((p) => p.tasks.flatMap((t) => t.tags)));
  tags.delete("never");
  tags.delete("always");
  return [...tags].sort();
}
