/**
 * Setup file of every project that starts processes (vitest.config.ts): this worker's processes
 * carry its own folder of the run as their mark (sweep-processes.ts), and are swept
 *  - after the test file's own afterAll hooks, so a test that timed out does not leave its world
 *    running (a report names what was left);
 *  - when the worker ends: vitest stops a worker with SIGTERM, and a worker whose runner died
 *    loses its IPC channel ("disconnect");
 *  - by the run's teardown and watchdog (process-run.ts), whatever happens to this worker.
 * The worker itself keeps its original environment (/proc/<pid>/environ), so it is never swept;
 * everything it starts inherits process.env, and so the mark. Processes started with an
 * environment of their own get it from withRunMark (spawnBot, runRotabot, startShell use it).
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, expect, inject } from "vitest";
import { OWNER_FILE } from "./process-run.js";
import { RUN_MARK, statOf, sweepMarked } from "./sweep-processes.js";

const dir = path.join(inject("processRun"), String(process.pid));
mkdirSync(dir, { recursive: true });
chmodSync(dir, 0o1777); // a temp folder like /tmp: PostgreSQL and service users write below it
// Names this worker, so a watchdog can stop it if it outlives its runner (process-run.ts, sweepRun).
writeFileSync(path.join(dir, OWNER_FILE), `${process.pid} ${statOf(process.pid)!.startTime}\n`);
process.env[RUN_MARK] = dir;
process.env.TMPDIR = dir; // os.tmpdir(): every temp folder of the tests lands in the run's folder

function sweep(when: string): void {
  const swept = sweepMarked(dir);
  if (swept.length === 0) return;
  process.stderr.write(
    `${when}, swept ${swept.length} processes left running:\n${swept.map((p) => `  ${p.pid} ${p.argv.join(" ")}`).join("\n")}\n`,
  );
}

afterAll(() => sweep(`after ${path.relative(process.cwd(), expect.getState().testPath ?? "its test file")}`));

if (!process.listeners("SIGTERM").some((l) => l.name === "sweepOnStop")) {
  process.on("SIGTERM", function sweepOnStop() {
    sweep("worker stopped");
    process.exit(143);
  });
  process.on("disconnect", function sweepOnOrphaned() {
    sweep("runner gone");
    process.exit(1);
  });
  process.on("exit", function sweepOnExit() {
    sweep("worker exit");
  });
}
