import { fail, type Result } from "../result.js";

/** One host's line of a PLAY RECAP. */
export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

const ANSI = new RegExp(String.raw`\u001b\[[0-9;]*m`, "g");
const HOST =
  /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)(?:\s+skipped=(\d+))?(?:\s+rescued=(\d+))?(?:\s+ignored=(\d+))?/;

/**
 * The last PLAY RECAP in an ansible-playbook output (default stdout callback, ansible-core 2.14),
 * one entry per host; undefined when the output has none. An empty list is a recap without hosts:
 * no play matched a host, or the tags selected no task.
 */
export function parsePlayRecap(output: string | readonly string[]): HostRecap[] | undefined {
  const lines = (typeof output === "string" ? output.split("\n") : output).map((l) => l.replace(ANSI, ""));
  const start = lines.findLastIndex((l) => /^PLAY RECAP \**\s*$/.test(l));
  if (start < 0) return undefined;
  const hosts: HostRecap[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = HOST.exec(line);
    if (!m) {
      if (hosts.length > 0 && line.trim() !== "") break;
      continue;
    }
    const n = (i: number) => Number(m[i] ?? 0);
    hosts.push({
      host: m[1]!,
      ok: n(2),
      changed: n(3),
      unreachable: n(4),
      failed: n(5),
      skipped: n(6),
      rescued: n(7),
      ignored: n(8),
    });
  }
  return hosts;
}

/** One host's result of one task, as the default stdout callback prints it under `TASK [name]`. */
export interface TaskResult {
  task: string;
  host: string;
  status: "ok" | "changed" | "failed";
}

const TASK_HEADER = /^(?:TASK|RUNNING HANDLER) \[(.*)\] \**\s*$/;
const RESULT = /^(ok|changed|fatal|failed): \[([^\]]+)\]/;

/**
 * Every task result in an ansible-playbook output (default stdout callback, ansible-core 2.14),
 * in order: `ok: [host]`, `changed: [host]`, `fatal: [host]: FAILED!` (also when `...ignoring`
 * follows) under each `TASK [name]` or `RUNNING HANDLER [name]` banner. `skipping:` and
 * `included: <file> for <host>` are not results of work (an include runs the tasks it includes,
 * which have their own banners). Undefined when the output has no task banner at all (only its
 * end was kept, or no task started).
 */
export function parseTaskResults(output: string | readonly string[]): TaskResult[] | undefined {
  const lines = (typeof output === "string" ? output.split("\n") : output).map((l) => l.replace(ANSI, ""));
  let task: string | undefined;
  let banners = 0;
  const results: TaskResult[] = [];
  for (const line of lines) {
    const header = TASK_HEADER.exec(line);
    if (header) {
      task = header[1]!;
      banners++;
      continue;
    }
    if (/^(PLAY|PLAY RECAP) \[?/.test(line)) task = undefined;
    const result = task === undefined ? null : RESULT.exec(line);
    if (result)
      results.push({
        task: task!,
        host: result[2]!.split(" -> ")[0]!,
        status: result[1] === "ok" ? "ok" : result[1] === "changed" ? "changed" : "failed",
      });
  }
  return banners === 0 ? undefined : results;
}

/** The task ansible runs first in a play with `gather_facts: true`: reading the host, not work. */
export const GATHERING_FACTS = "Gathering Facts";

/**
 * Whether a playbook run did any of the work it was asked for. ansible-playbook exits 0 when its
 * tags or hosts select nothing, and its PLAY RECAP still counts what is not work: with
 * `gather_facts: true` a run that selects no task shows `ok=1` per host (the facts), and a task
 * tagged `always` runs under any `--tags` (ansible-core 2.14, checked here). So the work is the
 * task results other than `Gathering Facts` and the tasks in `notWork` (the step's `always`-only
 * tasks, from `--list-tasks`). Without task banners in `output` (only its end was kept), the
 * PLAY RECAP is all there is: ok, changed, failed, unreachable, rescued and ignored at 0 on every
 * host (skipped tasks did not run), or no host at all, is a run that did nothing.
 */
export function checkTasksRan(
  output: string | readonly string[],
  notWork: readonly string[] = [],
): Result<{ hosts: HostRecap[]; note: string }, "no_recap" | "no_task_ran"> {
  const hosts = parsePlayRecap(output);
  if (hosts === undefined)
    return fail(
      "no_recap",
      "the output has no PLAY RECAP, so nothing shows that a task ran: keep ansible's default stdout callback (ANSIBLE_STDOUT_CALLBACK=default) for rotabot's runs",
    );
  const results = parseTaskResults(output);
  const ignored = new Set([GATHERING_FACTS, ...notWork]);
  const work = results?.filter((r) => !ignored.has(r.task));
  const ran = (h: HostRecap) => h.ok + h.changed + h.failed + h.unreachable + h.rescued + h.ignored;
  const idle = work === undefined ? hosts.every((h) => ran(h) === 0) : work.length === 0;
  if (hosts.length === 0 || idle) {
    const skipped = hosts.reduce((sum, h) => sum + h.skipped, 0);
    const notWorkRan = [...new Set((results ?? []).filter((r) => ignored.has(r.task)).map((r) => r.task))];
    const only =
      notWorkRan.length > 0
        ? ` besides ${notWorkRan.map((t) => (t === GATHERING_FACTS ? "gathering facts" : `the always task "${t}"`)).join(", ")}, which are not the step's work`
        : "";
    return fail(
      "no_task_ran",
      `the playbook ran no task${hosts.length === 0 ? " on any host" : ` (${hosts.map((h) => h.host).join(", ")}: ${skipped} skipped)`}${only}, though it exited 0: its --tags or its plays' hosts select nothing; check them with rotabot doctor`,
    );
  }
  return {
    ok: true,
    hosts,
    note: hosts.map((h) => `${h.host}: ok=${h.ok} changed=${h.changed}`).join("; "),
  };
}
