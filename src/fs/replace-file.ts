import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync } from "node:fs";
import { chmod, copyFile, mkdir, open, readdir, realpath, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { noCrashPoints, type ReachCrashPoint } from "./crash-points.js";
import { writePlainFileSync } from "./plain-file.js";

/** The files rotabot replaces in the infra checkout, as crash points name them. */
export type ReplacedFile = "changelog" | "manifest" | "vault";

export interface FileReplacerDeps {
  /** Temp files go to STATE_DIR/tmp when it is on the target's file system, so `git add -A` never sees them. */
  stateDir: string;
  /** The files rotabot replaces: `sweepTemps` also cleans temp files left beside them. */
  targets?: readonly string[];
  crash?: ReachCrashPoint;
  pid?: number;
  /** Tells this process from an earlier one with the same pid (a container's rotabot is often pid 1 every time). */
  processToken?: string;
  isAlive?: (pid: number) => boolean;
  now?: () => number;
}

/** A temp file whose owner is alive is left alone this long; no write takes more than a few minutes. */
const STALE_MS = 10 * 60_000;
/**
 * `.vault.yml.rotabot-<pid>-<process token>-<hex>.tmp` beside the target, the same without the
 * leading dot in STATE_DIR/tmp; `.vault.yml.rotabot-<hex>.tmp` is an older rotabot's.
 */
const TEMP_NAME = /^\.?.+\.rotabot-(?:(\d+)-([0-9a-z]+)-)?[0-9a-f]+\.tmp$/;

/**
 * Replaces files atomically: the new content goes to a temp file that is fsynced, renamed over
 * the target, and the target's folder is fsynced, so a crash at any moment leaves the old file
 * or the new one, never a truncated or partial one. Temp files live in STATE_DIR/tmp when a
 * rename from there works (same file system and mount); otherwise beside the target under one
 * name pattern that `sweepTemps` removes once their writer is gone.
 */
export function createFileReplacer({
  stateDir,
  targets = [],
  crash = noCrashPoints,
  pid = process.pid,
  processToken = Math.round(performance.timeOrigin).toString(36),
  isAlive = processIsAlive,
  now = Date.now,
}: FileReplacerDeps) {
  const tempDir = path.join(stateDir, "tmp");
  /** Folders a rename from STATE_DIR/tmp cannot reach (another file system, or a bind mount: EXDEV). */
  const besideOnly = new Set<string>();
  const tempName = (target: string) =>
    `${path.basename(target)}.rotabot-${pid}-${processToken}-${randomBytes(4).toString("hex")}.tmp`;
  const besideTemp = (target: string) => path.join(path.dirname(target), `.${tempName(target)}`);

  async function tempFor(target: string): Promise<string> {
    const dir = path.dirname(target);
    if (!besideOnly.has(dir)) {
      await mkdir(tempDir, { recursive: true, mode: 0o700 });
      const [state, folder] = await Promise.all([stat(tempDir), stat(dir)]);
      if (state.dev === folder.dev) return path.join(tempDir, tempName(target));
      besideOnly.add(dir);
    }
    return besideTemp(target);
  }

  /** Whether a temp file may be removed: its writer is gone (or it is far too old to be in use). */
  async function abandoned(file: string, owner: { pid: number; token: string } | undefined): Promise<boolean> {
    const info = await stat(file).catch(() => undefined);
    if (!info) return false;
    if (now() - info.mtimeMs > STALE_MS) return true;
    // A name without a pid is an older rotabot's: its writer cannot be running now.
    if (owner === undefined) return true;
    if (owner.pid === pid) return owner.token !== processToken;
    return !isAlive(owner.pid);
  }

  async function sweepFolder(dir: string, legacy: ReadonlySet<string>): Promise<string[]> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const name of names) {
      const match = TEMP_NAME.exec(name);
      if (!match && !legacy.has(name)) continue;
      const file = path.join(dir, name);
      const owner = match?.[1] === undefined ? undefined : { pid: Number(match[1]), token: match[2]! };
      if (await abandoned(file, owner)) {
        await unlink(file).then(
          () => removed.push(file),
          () => undefined,
        );
      }
    }
    return removed;
  }

  /** Legacy temp names of earlier versions: `_secrets_manifest.yml.<hex>.tmp` (the manifest's, never removed). */
  const legacyNames = (dir: string, names: readonly string[]) =>
    readdir(dir)
      .catch(() => [] as string[])
      .then(
        (found) =>
          new Set(
            found.filter((n) => names.some((base) => new RegExp(`^${escape(base)}\\.[0-9a-f]{8}\\.tmp$`).test(n))),
          ),
      );

  const replacer = {
    /**
     * Lets `produce` write the new content into the temp path it is given (for example
     * `ansible-vault encrypt --output`), then, when it returns ok, replaces `target` with it.
     * The temp file is removed whatever happens. A symlinked target has its link followed.
     */
    async replaceWith<T extends { ok: boolean }>(
      target: string,
      file: ReplacedFile,
      produce: (temp: string) => Promise<T>,
      { mode: newFileMode = 0o644 }: { mode?: number } = {},
    ): Promise<T> {
      const real = await realpath(target).catch(() => target);
      const dir = path.dirname(real);
      const existing = await stat(real).catch(() => undefined);
      const mode = existing ? existing.mode & 0o7777 : newFileMode;
      await sweepFolder(dir, await legacyNames(dir, [path.basename(real)]));
      const temps = [await tempFor(real)];
      try {
        const result = await produce(temps[0]!);
        if (!result.ok) return result;
        await chmod(temps[0]!, mode);
        await fsyncPath(temps[0]!);
        crash(`${file}:before-rename`);
        try {
          await rename(temps[0]!, real);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
          // Same device number but another mount (systemd's ReadWritePaths bind mounts): go beside.
          besideOnly.add(dir);
          const beside = besideTemp(real);
          temps.push(beside);
          await copyFile(temps[0]!, beside);
          await chmod(beside, mode);
          await fsyncPath(beside);
          await rename(beside, real);
        }
        crash(`${file}:after-rename`);
        await fsyncPath(dir);
        return result;
      } finally {
        for (const temp of temps) await unlink(temp).catch(() => undefined);
      }
    },

    /** Replaces `target` with `data` (see replaceWith). */
    async write(target: string, file: ReplacedFile, data: string, options: { mode?: number } = {}): Promise<void> {
      await replacer.replaceWith(
        target,
        file,
        async (temp) => {
          await writeFile(temp, data, { mode: 0o600, flag: "wx" });
          return { ok: true };
        },
        options,
      );
    },

    /**
     * Removes temp files of writes that were killed midway, in STATE_DIR/tmp and beside every
     * target; a temp whose writer still runs is left alone. Returns the files removed.
     * Call at start, resume and abort, before anything reads or commits the targets.
     */
    async sweepTemps(): Promise<string[]> {
      const removed = await sweepFolder(tempDir, new Set());
      const byFolder = new Map<string, string[]>();
      for (const target of targets) {
        const real = await realpath(target).catch(() => target);
        const dir = path.dirname(real);
        byFolder.set(dir, [...(byFolder.get(dir) ?? []), path.basename(real)]);
      }
      for (const [dir, names] of byFolder) removed.push(...(await sweepFolder(dir, await legacyNames(dir, names))));
      return removed;
    },
  };
  return replacer;
}
export type FileReplacer = ReturnType<typeof createFileReplacer>;

/**
 * The synchronous form for small files in STATE_DIR (audit.head): `temp` is a fixed name the
 * caller owns under its own lock; written (never through a symbolic link at that name), fsynced,
 * renamed over `target`, folder fsynced.
 */
export function replaceFileSync(target: string, temp: string, data: string, mode = 0o600): void {
  writePlainFileSync(temp, data, mode);
  renameSync(temp, target);
  const dir = openSync(path.dirname(target), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** fsync of a file or a folder (a folder's fsync makes a rename in it durable). */
export async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Whether a process with this pid exists on this host (EPERM: it exists, as another user). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
