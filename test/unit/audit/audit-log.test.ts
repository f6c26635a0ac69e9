import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createAuditLog, verifyAuditLog } from "../../../src/audit/audit-log.js";
import { runAuditCommand } from "../../../src/cli/audit-command.js";
import type { CrashPoint } from "../../../src/fs/crash-points.js";
import { PROJECT_ROOT } from "../../support/paths.js";

function logWith(n: number) {
  const dir = mkdtempSync(path.join(tmpdir(), "audit-"));
  const log = createAuditLog(dir);
  for (let i = 1; i <= n; i++) log.append({ type: "step_ok", n: i });
  return {
    dir,
    file: path.join(dir, "audit.jsonl"),
    headFile: path.join(dir, "audit.head"),
    lines: () => readFileSync(path.join(dir, "audit.jsonl"), "utf8").split("\n").filter(Boolean),
  };
}
const hashOf = (line: string) => (JSON.parse(line) as { hash: string }).hash;
/** A crash at `point`: nothing after it runs, as when the process is killed there. */
const crashAt = (at: CrashPoint) => (point: CrashPoint) => {
  if (point === at) throw new Error(`killed at ${point}`);
};
async function auditCli(args: string[], stateDir: string) {
  let stdout = "";
  let stderr = "";
  const code = await runAuditCommand(args, {
    env: { STATE_DIR: stateDir, USER: "opsuser" },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    packageRoot: PROJECT_ROOT,
    version: "test",
    now: () => new Date("2026-11-25T10:00:00Z"),
    stopSignal: new Promise(() => undefined),
  });
  return { code, stdout, stderr };
}

describe("hash-chained audit log", () => {
  it("verifies an untouched log, also across reopening", () => {
    const { dir } = logWith(3);
    createAuditLog(dir).append({ type: "later" });
    expect(verifyAuditLog(dir)).toEqual({ ok: true, entries: 4, repairs: [], pending: [] });
  });

  it("detects an edited line", () => {
    const { dir, file, lines } = logWith(4);
    const edited = lines();
    edited[1] = edited[1]!.replace('"n":2', '"n":20');
    writeFileSync(file, `${edited.join("\n")}\n`);
    expect(verifyAuditLog(dir)).toMatchObject({ ok: false, line: 2, problem: "its content was edited" });
  });

  it("detects a deleted line in the middle and at the end", () => {
    const middle = logWith(4);
    writeFileSync(
      middle.file,
      `${middle
        .lines()
        .filter((_, i) => i !== 1)
        .join("\n")}\n`,
    );
    expect(verifyAuditLog(middle.dir)).toMatchObject({ ok: false, line: 2 });
    const tail = logWith(4);
    writeFileSync(tail.file, `${tail.lines().slice(0, 3).join("\n")}\n`);
    expect(verifyAuditLog(tail.dir)).toMatchObject({
      ok: false,
      problem: expect.stringContaining("removed from the end") as string,
    });
  });
});

describe("audit log after a crash", () => {
  it("a crash between a line and audit.head is completed on open, recorded in the log, and never reads as tampering", async () => {
    const { dir } = logWith(2);
    const crashing = createAuditLog(dir, undefined, { crash: crashAt("audit:before-head") });
    expect(() => crashing.append({ type: "step_ok", n: 3 })).toThrow("killed at audit:before-head");
    // Before anything reopens the log, verify says what the crash left: intact, nothing edited.
    expect(verifyAuditLog(dir)).toMatchObject({
      ok: true,
      entries: 3,
      pending: [expect.stringContaining("audit.head is one entry behind") as string],
    });
    const reopened = createAuditLog(dir);
    expect(reopened.state).toEqual({ ok: true, repairs: [{ repair: "head_completed", seq: 3 }] });
    reopened.append({ type: "later" });
    expect(verifyAuditLog(dir)).toEqual({
      ok: true,
      entries: 5,
      repairs: [{ line: 4, repair: { repair: "head_completed", seq: 3 } }],
      pending: [],
    });
    const cli = await auditCli(["verify"], dir);
    expect(cli).toMatchObject({ code: 0, stderr: "" });
    expect(cli.stdout).toMatch(
      /^audit log intact: 5 entries in .*\n {2}line 4: crash repaired, not an edit: a crash came between entry 3 and audit.head/,
    );
  });

  it("a process that was already running finishes another process's half-written append before its own", () => {
    const { dir } = logWith(1);
    const bot = createAuditLog(dir);
    const shell = createAuditLog(dir, undefined, { crash: crashAt("audit:before-head") });
    expect(() => shell.append({ type: "shell" })).toThrow("killed");
    bot.append({ type: "bot" });
    expect(verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 4, repairs: [{ line: 3 }] });
  });

  it("appends from several processes interleave into one chain", () => {
    const { dir } = logWith(0);
    const a = createAuditLog(dir);
    const b = createAuditLog(dir);
    for (let i = 0; i < 5; i++) {
      a.append({ from: "a", i });
      b.append({ from: "b", i });
    }
    expect(verifyAuditLog(dir)).toEqual({ ok: true, entries: 10, repairs: [], pending: [] });
  });

  it("discards a line a crash cut short, and records how many bytes it held", () => {
    const { dir, file } = logWith(2);
    appendFileSync(file, '{"seq":3,"at":"2026-');
    expect(verifyAuditLog(dir)).toMatchObject({ ok: true, pending: [expect.stringContaining("cut short") as string] });
    const reopened = createAuditLog(dir);
    expect(reopened.state).toMatchObject({ ok: true, repairs: [{ repair: "torn_line_discarded", bytes: 20 }] });
    expect(verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 3, repairs: [{ line: 3 }], pending: [] });
  });

  it("completes a line that lacks only its newline", () => {
    const { dir, file, lines } = logWith(3);
    const all = lines();
    writeFileSync(file, `${all.slice(0, 2).join("\n")}\n${all[2]}`);
    writeFileSync(path.join(dir, "audit.head"), JSON.stringify({ seq: 2, hash: hashOf(all[1]!) }));
    expect(createAuditLog(dir).state).toEqual({
      ok: true,
      repairs: [
        { repair: "head_completed", seq: 3 },
        { repair: "line_completed", seq: 3 },
      ],
    });
    expect(verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 5 });
  });

  it("an audit.head more than one entry behind is not a crash: TAMPERED", () => {
    const { dir, headFile, lines } = logWith(4);
    writeFileSync(headFile, JSON.stringify({ seq: 2, hash: hashOf(lines()[1]!) }));
    expect(verifyAuditLog(dir)).toMatchObject({ ok: false, line: 4 });
    expect(createAuditLog(dir).state).toMatchObject({ ok: false, reason: "tampered" });
  });
});

describe("audit log that does not check out", () => {
  it("a truncated or edited audit.head: no crash, TAMPERED with what to do, read-only until resealed", async () => {
    for (const head of ['{"seq":4,"ha', "", '{"seq":"4","hash":"x"}']) {
      const { dir, file, headFile } = logWith(4);
      writeFileSync(headFile, head);
      const before = readFileSync(file, "utf8");
      const log = createAuditLog(dir);
      expect(log.state).toMatchObject({
        ok: false,
        reason: "tampered",
        message: expect.stringMatching(/audit log TAMPERED: audit\.head is damaged.*rotabot audit reseal/) as string,
      });
      expect(log.append({ type: "ignored" })).toBe(false);
      expect(readFileSync(file, "utf8")).toBe(before);
      const cli = await auditCli(["verify"], dir);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(
        /^audit log TAMPERED: .*audit\.jsonl line 4: audit\.head is damaged[^]*What to do: keep copies/,
      );
    }
  });

  it("reseal keeps the damaged log aside and starts a chain that records why", async () => {
    const { dir, file } = logWith(3);
    writeFileSync(file, readFileSync(file, "utf8").replace('"n":2', '"n":9'));
    const original = readFileSync(file);
    const cli = await auditCli(["reseal"], dir);
    expect(cli).toMatchObject({ code: 0, stdout: expect.stringContaining("kept the old log as") as string });
    const archived = readdirSync(dir).filter((n) => n.startsWith("audit.jsonl.tampered-"));
    expect(archived).toHaveLength(1);
    expect(readFileSync(path.join(dir, archived[0]!))).toEqual(original);
    expect(verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 1 });
    const first = JSON.parse(readFileSync(file, "utf8")) as { event: Record<string, unknown> };
    expect(first.event).toMatchObject({
      type: "audit_log_restarted",
      by: "opsuser",
      previous: { file: archived[0], line: 2, problem: "its content was edited" },
    });
    const log = createAuditLog(dir);
    expect(log.append({ type: "after" })).toBe(true);
    expect(verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 2 });
    expect(await auditCli(["reseal"], dir)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("nothing to reseal") as string,
    });
    expect(existsSync(path.join(dir, "audit.lock"))).toBe(false);
  });
});

describe("audit lock", () => {
  it("takes over a lock left by a process that is gone, or by an earlier process with this pid", () => {
    for (const holder of [String(spawnSync("true").pid), String(process.pid), ""]) {
      const { dir } = logWith(1);
      const lock = path.join(dir, "audit.lock");
      writeFileSync(lock, holder);
      if (holder === "") utimesSync(lock, new Date(Date.now() - 5_000), new Date(Date.now() - 5_000));
      expect(createAuditLog(dir).append({ type: "after" })).toBe(true);
      expect(existsSync(lock)).toBe(false);
      expect(verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 2 });
    }
  });
});
