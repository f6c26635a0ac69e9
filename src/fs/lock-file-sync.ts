import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { processIsAlive } from "./replace-file.js";

export interface FileLockOptions {
  isAlive?: (pid: number) => boolean;
  /** How long to wait for a live holder before giving up. */
  timeoutMs?: number;
  /** A lock this old is stale whoever holds it (the work under it takes milliseconds). */
  staleMs?: number;
}

/** Thrown when a live process holds the lock for longer than `timeoutMs`. */
export class LockBusyError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holder: number,
  ) {
    super(`${lockFile} is held by process ${holder}`);
    this.name = "LockBusyError";
  }
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Runs `work` holding an exclusive lock file (O_EXCL, holding the pid) shared by every rotabot
 * process on the host; a lock left by a dead process, or older than `staleMs`, is taken over.
 * Synchronous, for short work such as one audit append.
 */
export function withFileLockSync<T>(
  lockFile: string,
  work: () => T,
  { isAlive = processIsAlive, timeoutMs = 10_000, staleMs = 30_000 }: FileLockOptions = {},
): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lockFile, "wx", 0o600);
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number(readText(lockFile));
    const age = Date.now() - (statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    // Work under the lock is synchronous, so a lock naming this pid is an earlier process's (a container's pid 1).
    const stale = Number.isInteger(holder) && holder > 0 ? holder === process.pid || !isAlive(holder) : age > 2_000;
    if (stale || age > staleMs) {
      try {
        unlinkSync(lockFile);
      } catch {
        // Another process took it over first.
      }
      continue;
    }
    if (Date.now() > deadline) throw new LockBusyError(lockFile, holder);
    pause(5);
  }
  try {
    return work();
  } finally {
    try {
      unlinkSync(lockFile);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}
