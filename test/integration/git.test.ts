import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createGit } from "../../src/git/create-git.js";
import { listGitProcesses } from "../../src/git/git-locks.js";
import { withRunMark } from "../support/sweep-processes.js";

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@x" };

/** A checkout with one committed file and a pre-commit hook that waits while .git/hold-commit exists. */
function checkout() {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-git-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@x", ...args], { cwd: dir, env: ENV }).toString();
  git("init", "-q", "-b", "main");
  writeFileSync(path.join(dir, "vault.yml"), "v1\n");
  writeFileSync(path.join(dir, "other.txt"), "o1\n");
  git("add", "-A");
  git("commit", "-qm", "initial");
  writeFileSync(
    path.join(dir, ".git/hooks/pre-commit"),
    `#!/bin/sh\ntouch .git/in-hook\nwhile [ -e .git/hold-commit ]; do sleep 0.05; done\n`,
    { mode: 0o755 },
  );
  return { dir, git, lock: path.join(dir, ".git/index.lock") };
}
const gitFor = (dir: string, lockWaitMs = 30_000) =>
  createGit({ cwd: dir, env: { ...ENV, GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@x" }, lockWaitMs });

/** A git commit held inside its pre-commit hook, holding index.lock, as a killed rotabot's orphan would. */
async function heldCommit(c: ReturnType<typeof checkout>) {
  writeFileSync(path.join(c.dir, ".git/hold-commit"), "");
  writeFileSync(path.join(c.dir, "other.txt"), "o2\n");
  const child = spawn(
    "git",
    ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "orphan", "--", "other.txt"],
    // Marked, and in its own group: a test that fails before the release leaves no git looping in its hook.
    { cwd: c.dir, env: withRunMark(ENV), stdio: "ignore", detached: true },
  );
  await expect.poll(() => existsSync(path.join(c.dir, ".git/in-hook")), { timeout: 10_000 }).toBe(true);
  expect(existsSync(c.lock)).toBe(true);
  return {
    child,
    release: () => unlinkSync(path.join(c.dir, ".git/hold-commit")),
    exited: new Promise((resolve) => child.on("close", resolve)),
  };
}

describe("git commit after a crash", () => {
  it("clears the locks a killed git left (no git running there) and commits", async () => {
    const c = checkout();
    const deadPid = spawnSync("true").pid;
    writeFileSync(c.lock, "");
    writeFileSync(path.join(c.dir, ".git/refs/heads/main.lock"), "");
    writeFileSync(path.join(c.dir, `.git/next-index-${deadPid}.lock`), "");
    writeFileSync(path.join(c.dir, "vault.yml"), "v2\n");
    const committed = await gitFor(c.dir).commit(["vault.yml"], "Rotate k\n\nRotation r1 by ops.");
    expect(committed).toMatchObject({ ok: true, commit: expect.stringMatching(/^[0-9a-f]{7,}$/) as string });
    expect(committed.ok && committed.clearedLocks.map((f) => path.relative(c.dir, f)).sort()).toEqual(
      [".git/index.lock", ".git/refs/heads/main.lock", `.git/next-index-${deadPid}.lock`].sort(),
    );
    expect(c.git("log", "--format=%s")).toBe("Rotate k\ninitial\n");
    expect(c.git("status", "--porcelain")).toBe("");
  });

  it("finds the locks of a linked worktree (its own index, the shared refs)", async () => {
    const c = checkout();
    const worktree = `${c.dir}-wt`;
    c.git("worktree", "add", "-q", "-b", "feature", worktree);
    const locks = [".git/worktrees/" + path.basename(worktree) + "/index.lock", ".git/refs/heads/feature.lock"];
    for (const lock of locks) writeFileSync(path.join(c.dir, lock), "");
    writeFileSync(path.join(worktree, "vault.yml"), "v2\n");
    const committed = await gitFor(worktree).commit(["vault.yml"], "Rotate k");
    expect(committed.ok && committed.clearedLocks.sort()).toEqual(locks.map((l) => path.join(c.dir, l)).sort());
  });

  it("waits for a live git in the checkout to finish, then commits", async () => {
    const c = checkout();
    const orphan = await heldCommit(c);
    writeFileSync(path.join(c.dir, "vault.yml"), "v2\n");
    // The orphan finishes only once the commit has seen it running (and so must wait for it).
    let sawOrphan = false;
    const processes = async () => {
      const all = await listGitProcesses();
      if (!sawOrphan && all?.some((p) => p.pid === orphan.child.pid)) {
        sawOrphan = true;
        orphan.release();
      }
      return all;
    };
    const commit = createGit({
      cwd: c.dir,
      env: { ...ENV, GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@x" },
      processes,
    }).commit(["vault.yml"], "Rotate k");
    expect(await commit).toMatchObject({ ok: true, clearedLocks: [] });
    expect(sawOrphan).toBe(true);
    await orphan.exited;
    expect(c.git("log", "--format=%s")).toBe("Rotate k\norphan\ninitial\n");
  });

  it("never clears the lock of a live git: says which process holds it and exactly what to run", async () => {
    const c = checkout();
    const orphan = await heldCommit(c);
    writeFileSync(path.join(c.dir, "vault.yml"), "v2\n");
    const refused = await gitFor(c.dir, 300).commit(["vault.yml"], "Rotate k");
    expect(refused).toMatchObject({ ok: false, reason: "git_failed" });
    const message = refused.ok ? "" : refused.message;
    expect(message).toContain(`git process ${orphan.child.pid} (git -c user.name=t …) is working in ${c.dir}`);
    expect(message).toContain(
      `let it finish, then retry. If it hangs, stop it (kill ${orphan.child.pid}) and run: rm `,
    );
    expect(message).toContain(c.lock);
    expect(existsSync(c.lock)).toBe(true);
    orphan.release();
    await orphan.exited;
  });

  it("without /proc, says what to run instead of guessing", async () => {
    const c = checkout();
    writeFileSync(c.lock, "");
    const git = createGit({ cwd: c.dir, env: ENV, processes: () => Promise.resolve(undefined) });
    const refused = await git.commit(["vault.yml"], "Rotate k");
    expect(refused).toMatchObject({
      ok: false,
      message: expect.stringContaining(`If none is, run: rm ${c.lock}; then retry`) as string,
    });
  });

  it("reports the commit that landed before a crash instead of 'nothing to commit'", async () => {
    const c = checkout();
    writeFileSync(path.join(c.dir, "vault.yml"), "v2\n");
    const git = gitFor(c.dir);
    const first = await git.commit(["vault.yml"], "Rotate k\n\nRotation r1 by ops.");
    const again = await git.commit(["vault.yml"], "Rotate k\n\nRotation r1 by ops.");
    expect(again).toEqual({ ok: true, commit: first.ok && first.commit, clearedLocks: [] });
    expect(await git.commit(["vault.yml"], "Rotate k\n\nRotation r2 by ops.")).toMatchObject({ commit: undefined });
  });
});
