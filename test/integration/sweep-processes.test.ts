import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/paths.js";
import { carriesMark, RUN_MARK, statOf, stillRuns } from "../support/sweep-processes.js";

const CONFIG = path.join(PROJECT_ROOT, "test/support/fixtures/leave-processes/vitest.config.ts");

/** A process that still runs (a zombie has ended; a pid taken by a later process does not count). */
const running = ({ pid, started }: { pid: number; started: string | undefined }) => stillRuns(pid, started);

/** A vitest run of the fixture test, which starts four kinds of processes and never ends; the pids file names them and its worker. */
function runFixture(timeoutMs: number) {
  const dir = mkdtempSync(path.join(tmpdir(), "leave-processes-"));
  const pidsFile = path.join(dir, "pids");
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, "node_modules/vitest/vitest.mjs"), "run", "--config", CONFIG],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LEAVE_PROCESSES_PIDS: pidsFile, LEAVE_PROCESSES_TIMEOUT_MS: String(timeoutMs) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const left = async () => {
    await expect.poll(() => existsSync(pidsFile), { timeout: 60_000 }).toBe(true);
    return readFileSync(pidsFile, "utf8")
      .split(" ")
      .map(Number)
      .map((pid) => ({ pid, started: statOf(pid)?.startTime }));
  };
  return { child, exited, left, output: () => output };
}

describe("processes the tests start", { timeout: 120_000 }, () => {
  it("are gone when the run ends after a test timed out without cleaning up", async () => {
    const run = runFixture(3_000);
    const processes = await run.left();
    expect(processes.filter(running)).toHaveLength(5);
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/Test timed out in 3000ms/);
    expect(run.output()).toMatch(
      /after test\/support\/fixtures\/leave-processes\/leave-processes.fixture.ts, swept \d+ processes left running/,
    );
    expect(processes.filter(running)).toEqual([]);
  });

  it("are gone soon after the runner is killed (SIGKILL) in the middle of a test", async () => {
    const run = runFixture(600_000);
    const processes = await run.left();
    expect(processes.filter(running)).toHaveLength(5);
    run.child.kill("SIGKILL");
    await run.exited;
    await expect.poll(() => processes.filter(running), { timeout: 20_000 }).toEqual([]);
  });
});

describe("the mark of a run", () => {
  const environ = (...entries: string[]) => `${entries.join("\0")}\0`;
  it("is the run's folder (or one below it) as ROTABOT_TEST_RUN or TMPDIR, nothing else", () => {
    expect(carriesMark(environ("PATH=/bin", `${RUN_MARK}=/tmp/rbt-a/123`), "/tmp/rbt-a")).toBe(true);
    expect(carriesMark(environ("TMPDIR=/tmp/rbt-a/123"), "/tmp/rbt-a/123")).toBe(true);
    expect(carriesMark(environ("TMPDIR=/tmp/rbt-a/1234"), "/tmp/rbt-a/123")).toBe(false);
    expect(carriesMark(environ("TMPDIR=/tmp/rbt-ab"), "/tmp/rbt-a")).toBe(false);
    expect(carriesMark(environ("HOME=/tmp/rbt-a/123", "OTHER_TMPDIR=/tmp/rbt-a"), "/tmp/rbt-a")).toBe(false);
  });
});
