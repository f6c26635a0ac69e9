import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { link, open, readdir, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { fsyncPath } from "../fs/replace-file.js";
import { REFUSALS } from "./prompts.js";

export interface LockHolder {
  rotationId: string;
  initiator: string;
  startedAt: string;
  /** The process that took the lock, to tell a crashed holder from one about to write its journal. */
  pid?: number;
  host?: string;
}

/** A secret's lock: free, held, or a file that is there but cannot be read (nobody can tell who holds it). */
export type LockState =
  { state: "free" } | { state: "held"; holder: LockHolder } | { state: "unreadable"; file: string };

/** Attempts at taking a lock that keeps being released between our try and our look at it. */
const ATTEMPTS = 3;

/**
 * One active rotation per secret, across processes (the bot and a shell on the same host): a lock
 * file under STATE_DIR/locks, written whole before it gets its name (a temp file, fsynced, then
 * linked to the lock's name, which fails when it is taken), so a lock file is never empty.
 */
export function createSecretLocks(stateDir: string) {
  const dir = path.join(stateDir, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (key: string) => path.join(dir, `${key}.lock`);

  async function read(key: string): Promise<LockState> {
    let text: string;
    try {
      text = await readFile(fileOf(key), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { state: "free" };
      return { state: "unreadable", file: fileOf(key) };
    }
    try {
      const holder = JSON.parse(text) as LockHolder;
      if (typeof holder.rotationId === "string" && typeof holder.initiator === "string")
        return { state: "held", holder };
    } catch {
      // Not JSON: unreadable, below.
    }
    return { state: "unreadable", file: fileOf(key) };
  }

  async function holder(key: string): Promise<LockHolder | undefined> {
    const lock = await read(key);
    return lock.state === "held" ? lock.holder : undefined;
  }

  return {
    async acquire(key: string, holder: LockHolder): Promise<{ ok: true } | { ok: false; refusal: string }> {
      const temp = path.join(dir, `${key}.lock.${randomBytes(6).toString("hex")}.tmp`);
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(JSON.stringify(holder));
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
          try {
            await link(temp, fileOf(key));
            await fsyncPath(dir);
            return { ok: true };
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
          }
          const existing = await read(key);
          if (existing.state === "held") {
            const { initiator, rotationId } = existing.holder;
            return { ok: false, refusal: REFUSALS.lockedBy(key, initiator, rotationId) };
          }
          if (existing.state === "unreadable")
            return { ok: false, refusal: REFUSALS.unreadableLock(key, existing.file) };
        }
        return { ok: false, refusal: REFUSALS.lockContended(key) };
      } finally {
        await unlink(temp).catch(() => undefined);
      }
    },
    read,
    holder,
    /** The secret a rotation holds the lock of, if any (to rebuild a rotation whose journal is damaged). */
    async keyOf(rotationId: string): Promise<{ key: string; holder: LockHolder } | undefined> {
      for (const name of (await readdir(dir)).filter((n) => n.endsWith(".lock"))) {
        const key = name.slice(0, -5);
        const found = await holder(key);
        if (found?.rotationId === rotationId) return { key, holder: found };
      }
      return undefined;
    },
    async release(key: string, rotationId: string): Promise<void> {
      const existing = await holder(key);
      if (existing?.rotationId === rotationId) await unlink(fileOf(key)).catch(() => undefined);
    },
  };
}
export type SecretLocks = ReturnType<typeof createSecretLocks>;
