import { lstat, readdir, readFile, readlink, unlink } from "node:fs/promises";
import path from "node:path";
import { fail, type Result } from "../result.js";

/** A process on this host as /proc shows it; `cwd` is undefined when it cannot be read (another user's). */
export interface ProcessInfo {
  pid: number;
  argv: string[];
  cwd: string | undefined;
}

/** The git processes on this host from /proc, or undefined where there is no /proc to read. */
export async function listGitProcesses(): Promise<ProcessInfo[] | undefined> {
  let pids: string[];
  try {
    pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const found = await Promise.all(
    pids.map(async (pid): Promise<ProcessInfo | undefined> => {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      const argv = cmdline.split("\0").filter(Boolean);
      if (!isGit(argv)) return undefined;
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
      return { pid: Number(pid), argv, cwd };
    }),
  );
  return found.filter((p): p is ProcessInfo => p !== undefined);
}

/** git itself and its helpers (git-upload-pack, git-remote-https, /usr/lib/git-core/git ...). */
const isGit = (argv: readonly string[]) => argv.length > 0 && /^git(-|$)/.test(path.basename(argv[0]!));

export interface GitLockDeps {
  /** The checkout's top level, its git dir and the common git dir holding refs (all absolute; the same dir outside worktrees). */
  topLevel: string;
  gitDir: string;
  commonDir: string;
  /** The ref HEAD points at (refs/heads/main), when on a branch. */
  branchRef: string | undefined;
  processes: () => Promise<ProcessInfo[] | undefined>;
  /** How long to wait for a live git process to finish and release its lock. */
  waitMs: number;
  sleep?: (ms: number) => Promise<void>;
}

interface LockFile {
  file: string;
  ino: number;
  mtimeMs: number;
}

/**
 * Lock files a killed git leaves in the git dir (index.lock, HEAD.lock, the branch's ref lock,
 * packed-refs.lock, a partial commit's next-index-<pid>.lock): they make every later commit fail.
 * A lock is cleared only when no git process works in this checkout (its cwd is inside it, or
 * cannot be read); while one does, this waits up to `waitMs` for it, then says what to run.
 */
export async function clearStaleGitLocks(deps: GitLockDeps): Promise<Result<{ cleared: string[] }, "git_locked">> {
  const { topLevel, gitDir, commonDir, branchRef, processes, waitMs, sleep = delay } = deps;
  const files = [
    path.join(gitDir, "index.lock"),
    path.join(gitDir, "HEAD.lock"),
    path.join(commonDir, "packed-refs.lock"),
    ...(branchRef ? [path.join(commonDir, `${branchRef}.lock`)] : []),
  ];
  const present = async (): Promise<LockFile[]> => {
    const partial = (await readdir(gitDir).catch(() => [] as string[]))
      .filter((n) => /^next-index-\d+\.lock$/.test(n))
      .map((n) => path.join(gitDir, n));
    const stats = await Promise.all(
      [...files, ...partial].map(async (file) => {
        const info = await lstat(file).catch(() => undefined);
        return info ? { file, ino: info.ino, mtimeMs: info.mtimeMs } : undefined;
      }),
    );
    return stats.filter((s): s is LockFile => s !== undefined);
  };
  const inCheckout = (p: ProcessInfo) =>
    p.cwd === undefined || [topLevel, gitDir, commonDir].some((dir) => p.cwd === dir || p.cwd!.startsWith(`${dir}/`));
  const removal = (locks: LockFile[]) => `rm ${locks.map((l) => l.file).join(" ")}`;

  const deadline = Date.now() + waitMs;
  for (;;) {
    const locks = await present();
    if (locks.length === 0) return { ok: true, cleared: [] };
    const all = await processes();
    if (all === undefined)
      return fail(
        "git_locked",
        `${locks.map((l) => path.relative(topLevel, l.file)).join(", ")} in ${topLevel} would block the commit, and rotabot cannot see whether a git command is running there (no /proc). If none is, run: ${removal(locks)}; then retry`,
      );
    const live = all.filter(inCheckout);
    if (live.length === 0) {
      // Only the lock files seen before the process scan: a lock created since belongs to a new git.
      const now = await present();
      const unchanged = locks.every((l) =>
        now.some((n) => n.file === l.file && n.ino === l.ino && n.mtimeMs === l.mtimeMs),
      );
      if (!unchanged) continue;
      for (const lock of locks) await unlink(lock.file).catch(() => undefined);
      return { ok: true, cleared: locks.map((l) => l.file) };
    }
    if (Date.now() >= deadline) {
      const holder = live[0]!;
      const what = `${holder.argv.slice(0, 3).join(" ")}${holder.argv.length > 3 ? " …" : ""}`;
      const where = holder.cwd === undefined ? "possibly in" : "in";
      return fail(
        "git_locked",
        `git process ${holder.pid} (${what}) is working ${where} ${topLevel} and holds its lock (${locks.map((l) => path.basename(l.file)).join(", ")}): let it finish, then retry. If it hangs, stop it (kill ${holder.pid}) and run: ${removal(locks)}`,
      );
    }
    await sleep(250);
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
