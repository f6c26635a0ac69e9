import { mkdirSync } from "node:fs";
import { readdir, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

export interface LockHolder {
  rotationId: string;
  initiator: string;
  startedAt: string;
}

/**
 * One active rotation per secret, across processes (the bot and a shell on the same host):
 * a lock file created with O_EXCL under STATE_DIR/locks.
 */
export function createSecretLocks(stateDir: string) {
  const dir = path.join(stateDir, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (key: string) => path.join(dir, `${key}.lock`);

  return {
    async acquire(key: string, holder: LockHolder): Promise<{ ok: true } | { ok: false; holder: LockHolder }> {
      try {
        await writeFile(fileOf(key), JSON.stringify(holder), { flag: "wx", mode: 0o600 });
        return { ok: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const existing = await this.holder(key);
        return existing ? { ok: false, holder: existing } : this.acquire(key, holder);
      }
    },
    async holder(key: string): Promise<LockHolder | undefined> {
      try {
        return JSON.parse(await readFile(fileOf(key), "utf8")) as LockHolder;
      } catch {
        return undefined;
      }
    },
    /** The secret a rotation holds the lock of, if any (to rebuild a rotation whose journal is damaged). */
    async keyOf(rotationId: string): Promise<{ key: string; holder: LockHolder } | undefined> {
      for (const name of (await readdir(dir)).filter((n) => n.endsWith(".lock"))) {
        const key = name.slice(0, -5);
        const holder = await this.holder(key);
        if (holder?.rotationId === rotationId) return { key, holder };
      }
      return undefined;
    },
    async release(key: string, rotationId: string): Promise<void> {
      const existing = await this.holder(key);
      if (existing?.rotationId === rotationId) await unlink(fileOf(key)).catch(() => undefined);
    },
  };
}
export type SecretLocks = ReturnType<typeof createSecretLocks>;
