/**
 * The watchdog of one test run (started by process-run.ts in a session of its own, so a kill of
 * the runner's process group spares it): `node --import tsx watch-run.ts <run folder>`. Once the
 * vitest that owns the folder is gone, it sweeps every process marked with the folder and the
 * workers that outlived it, then ends.
 * It ends too when the folder goes (a teardown that ran) or on SIGTERM (the teardown's).
 */
import { existsSync } from "node:fs";
import { ownerAlive, sweepRun } from "./process-run.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: watch-run.ts <run folder>");

const timer = setInterval(() => {
  if (!existsSync(dir)) {
    clearInterval(timer);
    return;
  }
  if (ownerAlive(dir)) return;
  clearInterval(timer);
  sweepRun(dir);
}, 500);
