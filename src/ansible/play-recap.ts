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

/**
 * Whether a playbook run ran any task: a PLAY RECAP where every host has ok, changed, failed,
 * unreachable, rescued and ignored at 0 (skipped tasks did not run), or no host at all, is a run
 * that did nothing, though ansible-playbook exits 0 for it. `output` is the run's output (all of
 * it, or at least its end).
 */
export function checkTasksRan(
  output: string | readonly string[],
): Result<{ hosts: HostRecap[]; note: string }, "no_recap" | "no_task_ran"> {
  const hosts = parsePlayRecap(output);
  if (hosts === undefined)
    return fail(
      "no_recap",
      "the output has no PLAY RECAP, so nothing shows that a task ran: keep ansible's default stdout callback (ANSIBLE_STDOUT_CALLBACK=default) for rotabot's runs",
    );
  const ran = (h: HostRecap) => h.ok + h.changed + h.failed + h.unreachable + h.rescued + h.ignored;
  if (hosts.length === 0 || hosts.every((h) => ran(h) === 0)) {
    const skipped = hosts.reduce((sum, h) => sum + h.skipped, 0);
    return fail(
      "no_task_ran",
      `the playbook ran no task${hosts.length === 0 ? " on any host" : ` (${hosts.map((h) => h.host).join(", ")}: ${skipped} skipped)`}, though it exited 0: its --tags or its plays' hosts select nothing; check them with rotabot doctor`,
    );
  }
  return {
    ok: true,
    hosts,
    note: hosts.map((h) => `${h.host}: ok=${h.ok} changed=${h.changed}`).join("; "),
  };
}
