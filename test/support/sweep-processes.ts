import { readdirSync, readFileSync } from "node:fs";

/**
 * The mark every process a test run starts carries: a folder of the run (`ROTABOT_TEST_RUN`), and
 * the same folder as TMPDIR. TMPDIR is the one variable rotabot passes on to the commands it runs
 * (src/exec/allowed-env.ts), so a fixture command that rotabot started in its own process group,
 * PostgreSQL after `pg_ctl` made it a session leader, and nats-server in its PID namespace are all
 * found by it, whoever their parent is by now. A process keeps the environment it was started
 * with (/proc/<pid>/environ), so the mark survives double forks, setsid and a dead parent.
 */
export const RUN_MARK = "ROTABOT_TEST_RUN";

/** A process found by its mark. */
export interface MarkedProcess {
  pid: number;
  /** Its command line, for the report of what was swept. */
  argv: string[];
}

/** What /proc/<pid>/stat says of a process: its state letter (Z: a zombie), parent, and start time (clock ticks since boot). */
export interface ProcessStat {
  state: string;
  ppid: number;
  startTime: string;
}

/** The stat of a process, or undefined when there is none (gone, or no /proc). */
export function statOf(pid: number): ProcessStat | undefined {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  if (stat === "") return undefined;
  // pid (comm) state ppid ... starttime (field 22): comm may hold spaces and parentheses, so read after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]! };
}

/** Whether the process `pid` started at `startTime` still runs: not ended (a zombie has), nor replaced by a later one with its pid. */
export function stillRuns(pid: number, startTime: string | undefined): boolean {
  const stat = statOf(pid);
  return stat !== undefined && stat.state !== "Z" && stat.startTime === startTime;
}

/** This process and its ancestors: never swept, whatever their environment says. */
function ancestors(): Set<number> {
  const seen = new Set<number>();
  for (let pid = process.pid; pid > 1 && !seen.has(pid); pid = statOf(pid)?.ppid ?? 0) seen.add(pid);
  return seen;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "latin1");
  } catch {
    return ""; // gone meanwhile, or a kernel thread
  }
}

/** Whether `value` is `dir` or a path below it. */
const within = (value: string, dir: string) => value === dir || value.startsWith(`${dir}/`);

/** Whether an environment (NUL-separated, as in /proc/<pid>/environ) carries the mark of `dir`. */
export function carriesMark(environ: string, dir: string): boolean {
  return environ
    .split("\0")
    .some(
      (entry) =>
        (entry.startsWith(`${RUN_MARK}=`) && within(entry.slice(RUN_MARK.length + 1), dir)) ||
        (entry.startsWith("TMPDIR=") && within(entry.slice("TMPDIR=".length), dir)),
    );
}

/** The live processes (zombies are already dead) marked with `dir` or a folder below it. */
export function findMarked(dir: string): MarkedProcess[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return []; // no /proc: nothing to find (the suite runs on Linux)
  }
  const spared = ancestors();
  return pids
    .map(Number)
    .filter((pid) => !spared.has(pid))
    .filter((pid) => {
      const state = statOf(pid)?.state;
      return state !== undefined && state !== "Z";
    })
    .filter((pid) => carriesMark(readOrEmpty(`/proc/${pid}/environ`), dir))
    .map((pid) => ({ pid, argv: readOrEmpty(`/proc/${pid}/cmdline`).split("\0").filter(Boolean) }));
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone, or not ours to signal: nothing to do either way
  }
}

/**
 * Stops every process marked with `dir`: SIGTERM (PostgreSQL and rotabot clean up on it), and
 * SIGKILL for whatever is still there after `graceMs`. Synchronous, so it also runs in an exit
 * hook. Returns what it found, for a report: a clean run sweeps nothing.
 */
export function sweepMarked(dir: string, graceMs = 2_000): MarkedProcess[] {
  const found = findMarked(dir);
  if (found.length === 0) return found;
  for (const p of found) signal(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  let left = findMarked(dir);
  while (left.length > 0 && Date.now() < deadline) {
    sleepSync(50);
    left = findMarked(dir);
  }
  // Checked again just before: a pid is only killed while it still carries the mark.
  for (const p of left) signal(p.pid, "SIGKILL");
  for (let i = 0; i < 40 && findMarked(dir).length > 0; i++) sleepSync(50);
  return found;
}

/** `env` with this worker's mark added: for processes started with an environment of their own (testEnv). */
export function withRunMark(env: Readonly<Record<string, string>>): Record<string, string> {
  const dir = process.env[RUN_MARK];
  return dir === undefined ? { ...env } : { ...env, [RUN_MARK]: dir, TMPDIR: dir };
}
