import { execa } from "execa";
import { fail, type Result } from "../result.js";
import { clearStaleGitLocks, listGitProcesses, type ProcessInfo } from "./git-locks.js";

export interface GitDeps {
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** The git processes on this host (default: from /proc), to tell a stale lock from a live one. */
  processes?: () => Promise<ProcessInfo[] | undefined>;
  /** How long a commit waits for another git process in the checkout to release its lock. */
  lockWaitMs?: number;
}

/** The infra checkout's git: status of the files a rotation touches, commit, optional push. */
export function createGit({ cwd, env, processes = listGitProcesses, lockWaitMs = 30_000 }: GitDeps) {
  // cleanup: false, so a SIGTERM to rotabot lets a commit finish (see ansible-vault-cli.ts).
  const git = (args: string[]) => execa("git", args, { cwd, env, extendEnv: false, reject: false, cleanup: false });

  /** Clears the locks a git killed mid-commit left (see clearStaleGitLocks). */
  async function clearLocks(): Promise<Result<{ cleared: string[] }, "git_failed">> {
    const [top, dir, common, ref] = await Promise.all([
      git(["rev-parse", "--show-toplevel"]),
      git(["rev-parse", "--absolute-git-dir"]),
      git(["rev-parse", "--path-format=absolute", "--git-common-dir"]),
      git(["symbolic-ref", "-q", "HEAD"]),
    ]);
    if (top.exitCode !== 0 || dir.exitCode !== 0)
      return fail("git_failed", `${cwd} is not a git checkout (${top.stderr.trim()}); commit by hand`);
    const cleared = await clearStaleGitLocks({
      topLevel: top.stdout.trim(),
      gitDir: dir.stdout.trim(),
      commonDir: common.exitCode === 0 ? common.stdout.trim() : dir.stdout.trim(),
      branchRef: ref.exitCode === 0 ? ref.stdout.trim() : undefined,
      processes,
      waitMs: lockWaitMs,
    });
    return cleared.ok ? cleared : fail("git_failed", cleared.message);
  }

  return {
    async isRepository(): Promise<boolean> {
      const result = await git(["rev-parse", "--is-inside-work-tree"]);
      return result.exitCode === 0 && result.stdout.trim() === "true";
    },
    /** Paths among `files` with uncommitted changes. */
    async dirty(files: readonly string[]): Promise<string[]> {
      const result = await git(["status", "--porcelain", "--", ...files]);
      return result.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(3));
    },
    /**
     * Commits `files`. First clears lock files a killed git left (none while a git process works
     * in the checkout). When nothing is staged: the commit is HEAD if HEAD already holds exactly
     * this message (a commit that landed before a crash), else undefined (nothing to commit).
     */
    async commit(
      files: readonly string[],
      message: string,
    ): Promise<Result<{ commit: string | undefined; clearedLocks: string[] }, "git_failed">> {
      const locks = await clearLocks();
      if (!locks.ok) return locks;
      const clearedLocks = locks.cleared;
      const add = await git(["add", "--", ...files]);
      if (add.exitCode !== 0)
        return fail("git_failed", `git add failed: ${add.stderr.trim()}; commit ${files.join(", ")} by hand`);
      const staged = await git(["diff", "--cached", "--quiet", "--", ...files]);
      if (staged.exitCode === 0) {
        const last = await git(["log", "-1", "--format=%B%x00%h"]);
        const [body, hash] = last.stdout.split("\0");
        const landed = last.exitCode === 0 && body?.trim() === message.trim();
        return { ok: true, commit: landed ? hash?.trim() : undefined, clearedLocks };
      }
      const identity =
        (await git(["config", "user.email"])).exitCode === 0
          ? []
          : ["-c", "user.name=rotabot", "-c", "user.email=rotabot@localhost"];
      const commit = await git([...identity, "commit", "-m", message, "--", ...files]);
      if (commit.exitCode !== 0)
        return fail(
          "git_failed",
          `git commit failed: ${commit.stderr.trim() || commit.stdout.trim()}; commit ${files.join(", ")} by hand`,
        );
      const head = await git(["rev-parse", "--short", "HEAD"]);
      return { ok: true, commit: head.stdout.trim(), clearedLocks };
    },
    /** A file's committed bytes at HEAD, or undefined when it is not committed. */
    async showHead(file: string): Promise<string | undefined> {
      const result = await git(["show", `HEAD:${file}`]);
      return result.exitCode === 0 ? result.stdout : undefined;
    },
    /** The newest commit whose message contains `text` (fixed string), if any. */
    async commitMentioning(text: string): Promise<string | undefined> {
      const result = await git(["log", "-n", "1", "--format=%h", "--fixed-strings", `--grep=${text}`]);
      return result.exitCode === 0 && result.stdout.trim() !== "" ? result.stdout.trim() : undefined;
    },
    async push(): Promise<Result<object, "git_failed">> {
      const push = await git(["push"]);
      return push.exitCode === 0
        ? { ok: true }
        : fail("git_failed", `git push failed: ${push.stderr.trim()}; push by hand`);
    },
  };
}
export type Git = ReturnType<typeof createGit>;
