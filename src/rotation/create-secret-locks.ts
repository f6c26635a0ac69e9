import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { link, open, readdir, unlink } from "node:fs/promises";
import path from "node:path";
import { readPlainFile } from "../fs/plain-file.js";
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

/**
 * A secret's lock: free, held, or something that is there but cannot be read (nobody can tell who
 * holds it): an empty or torn file, or, in `what`, something that is no plain file (a symbolic
 * link, which rotabot never follows, a folder, a pipe).
 */
export type LockState =
  { state: "free" } | { state: "held"; holder: LockHolder } | { state: "unreadable"; file: string; what?: string };

/** Attempts at taking a lock that keeps being released between our try and our look at it. */
const ATTEMPTS = 3;

/** The vault's claim: not a `.lock`, so it is never taken for a secret's lock. */
const VAULT_CLAIM = "vault.claim";

/**
 * One active rotation per secret, across processes (the bot and a shell on the same host): a lock
 * file under STATE_DIR/locks, written whole before it gets its name (a temp file, fsynced, then
 * linked to the lock's name, which fails when it is taken), so a lock file is never empty.
 */
export function createSecretLocks(stateDir: string) {
  const dir = path.join(stateDir, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (key: string) => path.join(dir, `${key}.lock`);

  async function readAt(file: string): Promise<LockState> {
    const read = await readPlainFile(file);
    if (read.state === "missing") return { state: "free" };
    if (read.state === "not_a_file") return { state: "unreadable", file, what: read.what };
    const { text } = read;
    try {
      const holder = JSON.parse(text) as LockHolder;
      if (typeof holder.rotationId === "string" && typeof holder.initiator === "string")
        return { state: "held", holder };
    } catch {
      // Not JSON: unreadable, below.
    }
    return { state: "unreadable", file };
  }
  const read = (key: string) => readAt(fileOf(key));

  async function holder(key: string): Promise<LockHolder | undefined> {
    const lock = await read(key);
    return lock.state === "held" ? lock.holder : undefined;
  }

  /** Takes the lock at `file` for `holder`, or says who has it: a temp file written whole, then linked to the name. */
  async function take(
    file: string,
    holder: LockHolder,
  ): Promise<{ state: "taken" } | { state: "contended" } | Exclude<LockState, { state: "free" }>> {
    const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
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
          await link(temp, file);
          await fsyncPath(dir);
          return { state: "taken" };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const existing = await readAt(file);
        if (existing.state !== "free") return existing;
      }
      return { state: "contended" };
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async function releaseAt(file: string, rotationId: string): Promise<void> {
    const existing = await readAt(file);
    if (existing.state === "held" && existing.holder.rotationId === rotationId)
      await unlink(file).catch(() => undefined);
  }

  return {
    async acquire(key: string, holder: LockHolder): Promise<{ ok: true } | { ok: false; refusal: string }> {
      const taken = await take(fileOf(key), holder);
      if (taken.state === "taken") return { ok: true };
      if (taken.state === "held") {
        const { initiator, rotationId } = taken.holder;
        return { ok: false, refusal: REFUSALS.lockedBy(key, initiator, rotationId) };
      }
      if (taken.state === "unreadable")
        return { ok: false, refusal: REFUSALS.unreadableLock(key, taken.file, taken.what) };
      return { ok: false, refusal: REFUSALS.lockContended(key) };
    },
    read,
    holder,
    /**
     * The vault is one file with one commit per rotation: from its first write of the vault until
     * it ends, a rotation holds the vault's claim, so no other rotation's change rides in its commit.
     */
    claimVault: (holder: LockHolder) => take(path.join(dir, VAULT_CLAIM), holder),
    /** Who holds the vault's claim, if anyone (read only). */
    readVaultClaim: () => readAt(path.join(dir, VAULT_CLAIM)),
    releaseVault: (rotationId: string) => releaseAt(path.join(dir, VAULT_CLAIM), rotationId),
    /** The secret a rotation holds the lock of, if any (to rebuild a rotation whose journal is damaged). */
    async keyOf(rotationId: string): Promise<{ key: string; holder: LockHolder } | undefined> {
      for (const name of (await readdir(dir)).filter((n) => n.endsWith(".lock"))) {
        const key = name.slice(0, -5);
        const found = await holder(key);
        if (found?.rotationId === rotationId) return { key, holder: found };
      }
      return undefined;
    },
    release: (key: string, rotationId: string) => releaseAt(fileOf(key), rotationId),
  };
}
export type SecretLocks = ReturnType<typeof createSecretLocks>;
