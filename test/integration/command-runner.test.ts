import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { allowedEnv } from "../../src/exec/allowed-env.js";
import { createCommandRunner } from "../../src/exec/create-command-runner.js";
import { createRedactor, secretForms } from "../../src/logging/redactor.js";
import { PROJECT_ROOT } from "../support/paths.js";

const FIXTURES = path.join(PROJECT_ROOT, "test/support/fixtures");
const SECRET = "n3w-S3cret/with+odd=chars";
const BOT_TOKEN = "123456789:AAfakeBotTokenThatMustNeverLeak_12345";

function runner() {
  const redactor = createRedactor([SECRET]);
  const env = allowedEnv({
    PATH: process.env.PATH,
    HOME: "/root",
    BOT_TOKEN,
    VAULT_PASS: "x",
    ANSIBLE_CONFIG: "/etc/ansible.cfg",
    PGPASSWORD: "pw",
  });
  return createCommandRunner({ cwd: PROJECT_ROOT, baseEnv: env, redactor, killGraceMs: 500 });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("command runner", () => {
  it("passes secrets only by env and stdin, inherits only allowlisted variables, and redacts every form", async () => {
    const lines: string[] = [];
    const logFile = path.join(mkdtempSync(path.join(tmpdir(), "cmd-")), "logs/step.log");
    const result = await runner()({
      argv: [path.join(FIXTURES, "report-self.sh"), "--tags", "freeswitch"],
      env: { ROTABOT_NEW_VALUE: SECRET },
      stdin: `${SECRET}\n`,
      timeoutMs: 10_000,
      onLine: (line) => lines.push(line),
      logFile,
    });
    expect(result.ok).toBe(true);
    const output = lines.join("\n");
    expect(output).toContain("argv: --tags freeswitch");
    const names = /env-names: (.*)/
      .exec(output)![1]!
      .trim()
      .split(" ")
      .filter((n) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(n));
    expect(names).toEqual(["ANSIBLE_CONFIG", "HOME", "PATH", "ROTABOT_NEW_VALUE"]);
    expect(output).not.toMatch(/BOT_TOKEN|VAULT_PASS|PGPASSWORD/);
    expect(output).toContain("secret-env: [redacted]");
    expect(output).toContain("stdin: [redacted]");
    expect(output).toContain("to stderr");
    const log = readFileSync(logFile, "utf8");
    expect(log).toBe(`${output}\n`);
    for (const form of secretForms(SECRET)) {
      expect(output).not.toContain(form);
      expect(log).not.toContain(form);
    }
    expect(output).not.toContain(BOT_TOKEN);
  });

  it("reports a failing exit code with the tail of the output", async () => {
    const result = await runner()({
      argv: [path.join(FIXTURES, "report-self.sh")],
      env: { EXIT_WITH: "3" },
      timeoutMs: 10_000,
    });
    expect(result).toMatchObject({
      ok: false,
      reason: "exit",
      exitCode: 3,
      message: expect.stringContaining("exited with code 3") as string,
    });
    expect(result.tail.at(-1)).toBe("to stderr");
  });

  it("a log it cannot write fails the command, naming the log and the fix, and never the process", async () => {
    // ENOSPC on every write (a full disk under STATE_DIR): the command runs to its end, then fails.
    const full = await runner()({ argv: ["sh", "-c", "echo hello"], timeoutMs: 10_000, logFile: "/dev/full" });
    expect(full).toMatchObject({ ok: false, reason: "exit", exitCode: 0 });
    expect(!full.ok && full.message).toBe(
      "sh ran to the end, but its log /dev/full could not be written (ENOSPC): make /dev writable by the user rotabot runs as and free space on its disk (df -h /dev), then Retry",
    );
    // A log that cannot be opened (here a folder; EACCES alike): the command is not run.
    const folder = mkdtempSync(path.join(tmpdir(), "cmd-"));
    const marker = path.join(folder, "ran");
    const unopened = await runner()({ argv: ["touch", marker], timeoutMs: 10_000, logFile: folder });
    expect(!unopened.ok && unopened.message).toMatch(/^touch was not run: its log \S+ could not be written \(EISDIR\)/);
    expect(existsSync(marker)).toBe(false);
  });

  it("says when the program is missing", async () => {
    expect(await runner()({ argv: ["ansible-playbook-does-not-exist"], timeoutMs: 5_000 })).toMatchObject({
      ok: false,
      reason: "not_found",
      message: expect.stringContaining("not found on PATH") as string,
    });
  });

  it("kills the whole process tree on timeout", async () => {
    const pidFile = path.join(mkdtempSync(path.join(tmpdir(), "tree-")), "child.pid");
    const result = await runner()({ argv: [path.join(FIXTURES, "spawn-tree.sh"), pidFile], timeoutMs: 1_000 });
    expect(result).toMatchObject({ ok: false, reason: "timeout" });
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    await expect.poll(() => alive(grandchild), { timeout: 5_000 }).toBe(false);
  });

  it("kills the whole process tree on cancel", async () => {
    const pidFile = path.join(mkdtempSync(path.join(tmpdir(), "tree-")), "child.pid");
    const controller = new AbortController();
    const running = runner()({
      argv: [path.join(FIXTURES, "spawn-tree.sh"), pidFile],
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    await expect
      .poll(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "", { timeout: 5_000 })
      .toBe(true);
    controller.abort();
    expect(await running).toMatchObject({ ok: false, reason: "cancelled" });
    await expect.poll(() => alive(Number(readFileSync(pidFile, "utf8"))), { timeout: 5_000 }).toBe(false);
  });
});
