import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { RUN_MARK, statOf, stillRuns, sweepMarked, type MarkedProcess } from "./sweep-processes.js";

declare module "vitest" {
  interface ProvidedContext {
    /** The folder of this run's processes and temp files (test/support/mark-processes.ts). */
    processRun: string;
  }
}

/** A run folder's name: short, because PostgreSQL's socket path below it must fit in 107 bytes. */
const PREFIX = "rbt-";

/** The file, in a run's folder or a worker's, that names its vitest process: its pid and start time. */
export const OWNER_FILE = "owner";

/** Whether the process a folder's owner file names still runs. */
function ownedByLiveProcess(dir: string): { pid: number; alive: boolean } | undefined {
  let owner: string;
  try {
    owner = readFileSync(path.join(dir, OWNER_FILE), "utf8");
  } catch {
    return undefined;
  }
  const [pid, started] = owner.trim().split(" ");
  return { pid: Number(pid), alive: started !== undefined && stillRuns(Number(pid), started) };
}

/** Whether the vitest that owns a run folder still runs. */
export function ownerAlive(runDir: string): boolean {
  return ownedByLiveProcess(runDir)?.alive === true;
}

/**
 * Stops what a run left: every process marked with its folder, and its vitest workers that
 * outlived their runner (a worker keeps the environment it started with, so it carries no mark;
 * its folder's owner file names it).
 */
export function sweepRun(dir: string): MarkedProcess[] {
  const swept = sweepMarked(dir);
  for (const worker of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const owner = ownedByLiveProcess(path.join(dir, worker.name));
    if (!owner?.alive) continue;
    try {
      process.kill(owner.pid, "SIGKILL");
      swept.push({ pid: owner.pid, argv: ["(vitest worker)"] });
    } catch {
      // gone meanwhile
    }
  }
  return swept;
}

/** Folders of runs whose vitest is gone (killed, or its machine rebooted): their processes are swept, the folders removed. */
function sweepDeadRuns(base: string): void {
  for (const name of readdirSync(base).filter((n) => n.startsWith(PREFIX))) {
    const dir = path.join(base, name);
    let isRun = false;
    try {
      isRun = readdirSync(dir).includes(OWNER_FILE);
    } catch {
      continue; // not a folder, or not ours to read
    }
    if (!isRun || ownerAlive(dir)) continue;
    const swept = sweepRun(dir);
    if (swept.length > 0) process.stderr.write(`swept ${swept.length} processes left by an earlier run (${dir})\n`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Global setup of every project that starts processes: a run folder under the machine's temp
 * folder, marked with this vitest's pid and start time. Each worker marks what it starts with a
 * folder below it (mark-processes.ts). A watchdog (watch-run.ts, its own session) sweeps the run's
 * processes as soon as this vitest is gone without its teardown (killed, or the machine's OOM
 * killer); the next run's setup sweeps and removes what a dead run left.
 * The teardown sweeps whatever is still running, and removes the folder unless a test failed (its
 * files are then kept for a look, until the next run).
 */
export default function setup(project: TestProject): () => void {
  const base = tmpdir();
  sweepDeadRuns(base);
  const dir = mkdtempSync(path.join(base, PREFIX));
  chmodSync(dir, 0o755); // PostgreSQL and the install test's service user reach their folders below
  writeFileSync(path.join(dir, OWNER_FILE), `${process.pid} ${statOf(process.pid)!.startTime}\n`);
  const unmarked = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== RUN_MARK && name !== "TMPDIR"),
  );
  const watchdog = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "watch-run.ts"), dir], {
    detached: true,
    stdio: "ignore",
    env: unmarked,
    cwd: path.resolve(import.meta.dirname, "../.."),
  });
  watchdog.unref();
  project.provide("processRun", dir);

  return () => {
    const swept = sweepMarked(dir);
    if (swept.length > 0)
      process.stderr.write(
        `swept ${swept.length} processes the tests left running:\n${swept.map((p) => `  ${p.pid} ${p.argv.join(" ")}`).join("\n")}\n`,
      );
    if (watchdog.exitCode === null && watchdog.pid !== undefined) process.kill(watchdog.pid, "SIGTERM");
    const state = project.vitest.state;
    if (state.getCountOfFailedTests() === 0 && state.getFailedFilepaths().length === 0)
      rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`the failed run's temp files are kept in ${dir} until the next run\n`);
  };
}
