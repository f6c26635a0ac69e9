import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { markedProcesses, STEP_MARK, stepMark } from "../../src/exec/marked-processes.js";
import { withRunMark } from "../support/sweep-processes.js";

// The mark a step's command carries finds it, and its children, from another process: what a
// resume relies on when rotabot died before it journaled the command's process group.
describe("processes marked with a step", () => {
  it("finds a marked command and the children it started, and nothing once they ended or for another step", async () => {
    const mark = stepMark(`r${process.pid}`, "accept_both@staging");
    const child = spawn("sh", ["-c", "sleep 60 & wait"], {
      env: withRunMark({ PATH: process.env.PATH ?? "/usr/bin:/bin", [STEP_MARK]: mark }),
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => child.on("close", resolve));
    try {
      // The shell and its sleep: the mark is inherited.
      await expect.poll(() => markedProcesses(mark).length, { timeout: 10_000 }).toBe(2);
      expect(markedProcesses(mark)).toContain(child.pid);
      expect(markedProcesses(stepMark(`r${process.pid}`, "accept_both@production"))).toEqual([]);
      // A mark that only begins like this one is another step's.
      expect(markedProcesses(mark.slice(0, -1))).toEqual([]);
    } finally {
      for (const pid of markedProcesses(mark)) process.kill(pid, "SIGKILL");
    }
    await exited;
    await expect.poll(() => markedProcesses(mark), { timeout: 10_000 }).toEqual([]);
  });
});
