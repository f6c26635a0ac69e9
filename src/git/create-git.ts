import { execa } from "execa";
import { fail, type Result } from "../result.js";

/** The infra checkout's git: status of the files a rotation touches, commit, optional push. */
export function createGit({ cwd, env }: { cwd: string; env: Readonly<Record<string, string>> }) {
  const git = (args: string[]) => execa("git", args, { cwd, env, extendEnv: false, reject: false });
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
    /** Commits `files`; ok with commit undefined when there was nothing to commit. */
    async commit(
      files: readonly string[],
      message: string,
    ): Promise<Result<{ commit: string | undefined }, "git_failed">> {
      const add = await git(["add", "--", ...files]);
      if (add.exitCode !== 0)
        return fail("git_failed", `git add failed: ${add.stderr.trim()}; commit ${files.join(", ")} by hand`);
      const staged = await git(["diff", "--cached", "--quiet", "--", ...files]);
      if (staged.exitCode === 0) return { ok: true, commit: undefined };
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
      return { ok: true, commit: head.stdout.trim() };
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
