import { readFile, rename, rm, writeFile } from "node:fs/promises";

/**
 * Says `rotabot start` is ready in READY_FILE: `READY=1` and `MAINPID=<pid>` (sd_notify's words),
 * written beside the file and renamed over it, so a reader sees all of it or none. A supervisor
 * waits for this file (waitForReady) rather than for a sentence in the chat or the log, so no
 * wording or count (of procedures, of chats) decides when a start has finished.
 */
export async function signalReady(file: string, pid = process.pid): Promise<void> {
  const temp = `${file}.${pid}.tmp`;
  await writeFile(temp, `READY=1\nMAINPID=${pid}\n`);
  await rename(temp, file);
}

/** Takes the readiness back when stopping (a missing file is fine: someone removed it already). */
export async function clearReady(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Whether READY_FILE says that the process `pid` is ready (a file left by an earlier process does not count). */
export async function isReady(file: string, pid: number): Promise<boolean> {
  const text = await readFile(file, "utf8").catch(() => "");
  const lines = text.split("\n");
  return lines.includes("READY=1") && lines.includes(`MAINPID=${pid}`);
}

/** Waits until the process `pid` says it is ready in `file`, for at most `timeoutMs`: false when it did not. */
export async function waitForReady(file: string, pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isReady(file, pid))) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
