import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { auditKeyOf, type AuditKey } from "../../../src/audit/audit-key.js";
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
async function auditCli(args: string[], stateDir: string, env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runAuditCommand(args, {
    env: { STATE_DIR: stateDir, USER: "opsuser", ...env },
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

/** A key file as the install role writes it (openssl rand -hex 32), and the key read from it. */
function keyFile(text = createHash("sha256").update(String(Math.random())).digest("hex")): {
  file: string;
  key: AuditKey;
} {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "audit-key-")), "audit_key");
  writeFileSync(file, `${text}\n`, { mode: 0o400 });
  return { file, key: auditKeyOf(text, file) };
}

interface Line {
  seq: number;
  at: string;
  prev: string;
  hash: string;
  key?: string;
  event: Record<string, unknown>;
}
/**
 * What someone who can write STATE_DIR but has no key can do: edit line `at`, re-hash it and every
 * later line with sha256 (the unkeyed scheme), and move audit.head along.
 */
function forge(dir: string, at: number, edit: (event: Record<string, unknown>) => void, keepKeyField: boolean) {
  const file = path.join(dir, "audit.jsonl");
  const lines = readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
  edit(lines[at - 1]!.event);
  for (let i = at - 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (i > 0) line.prev = lines[i - 1]!.hash;
    if (!keepKeyField) delete line.key;
    const fields = line.key
      ? [line.seq, line.at, line.prev, line.event, line.key]
      : [line.seq, line.at, line.prev, line.event];
    line.hash = createHash("sha256").update(JSON.stringify(fields)).digest("hex");
  }
  writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
  const last = lines.at(-1)!;
  writeFileSync(
    path.join(dir, "audit.head"),
    JSON.stringify({ seq: last.seq, hash: last.hash, ...(last.key ? { key: last.key } : {}) }),
  );
}

describe("keyed audit log (HMAC, the key outside STATE_DIR)", () => {
  it("an unkeyed log takes a forged line re-hashed with sha256 (what issue 25 found); a keyed one calls it TAMPERED, with or without the key field", async () => {
    const unkeyed = logWith(4);
    forge(unkeyed.dir, 2, (e) => (e.n = 20), false);
    expect(verifyAuditLog(unkeyed.dir)).toMatchObject({ ok: true, entries: 4 });

    for (const keepKeyField of [true, false]) {
      const { file, key } = keyFile();
      const dir = mkdtempSync(path.join(tmpdir(), "audit-"));
      const log = createAuditLog(dir, undefined, { key });
      for (let n = 1; n <= 4; n++) log.append({ type: "step_ok", n });
      expect(verifyAuditLog(dir, key)).toMatchObject({ ok: true, entries: 5, keyed: { key: key.id, from: 1 } });
      forge(dir, 3, (e) => (e.n = 20), keepKeyField);
      expect(verifyAuditLog(dir, key)).toMatchObject({ ok: false, line: 3 });
      const cli = await auditCli(["verify"], dir, { AUDIT_KEY_FILE: file });
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/^audit log TAMPERED: .*audit\.jsonl line 3: /);
      // rotabot itself stops appending to it.
      expect(createAuditLog(dir, undefined, { key }).state).toMatchObject({ ok: false, reason: "tampered" });
    }
  });

  it("keys an existing unkeyed log from the next line on; verify says from where, with which key, and refuses an unkeyed line after it", async () => {
    const { dir, file: log } = logWith(3);
    const { file, key } = keyFile();
    const keyed = createAuditLog(dir, undefined, { key });
    expect(keyed.state).toEqual({ ok: true, repairs: [], keyedFrom: 4 });
    keyed.append({ type: "after" });
    expect(verifyAuditLog(dir, key)).toEqual({
      ok: true,
      entries: 5,
      repairs: [],
      pending: [],
      keyed: { key: key.id, from: 4 },
    });
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => l.key)).toEqual([undefined, undefined, undefined, key.id, key.id]);
    expect(lines[3]!.event).toEqual({ type: "audit_keyed", key: key.id, from: 4 });
    // The key itself is nowhere in STATE_DIR.
    const secret = readFileSync(file, "utf8").trim();
    for (const name of readdirSync(dir)) expect(readFileSync(path.join(dir, name), "utf8")).not.toContain(secret);

    const cli = await auditCli(["verify"], dir, { AUDIT_KEY_FILE: file });
    expect(cli).toMatchObject({ code: 0, stderr: "" });
    expect(cli.stdout).toContain(
      `verified with HMAC-SHA256 key ${key.id} (${file}) from line 4 to line 5; lines 1-3 were written before the key (sha256 only`,
    );
    // Someone without the key appends a sha256 line (and moves audit.head): found.
    forge(dir, 5, (e) => (e.type = "forged"), false);
    expect(verifyAuditLog(dir, key)).toMatchObject({
      ok: false,
      line: 5,
      problem: expect.stringContaining("not keyed, but the log is keyed from line 4") as string,
    });
  });

  it("a keyed log without its key (or with another) is not appended to, and verify says it could not check it", async () => {
    const { key } = keyFile();
    const dir = mkdtempSync(path.join(tmpdir(), "audit-"));
    createAuditLog(dir, undefined, { key }).append({ type: "step_ok" });
    const before = readFileSync(path.join(dir, "audit.jsonl"), "utf8");
    const other = keyFile();
    for (const wrong of [undefined, other.key]) {
      const log = createAuditLog(dir, undefined, { key: wrong });
      expect(log.state).toMatchObject({
        ok: false,
        reason: "key",
        message: expect.stringContaining(`the audit log is keyed with key ${key.id}`) as string,
      });
      expect(log.append({ type: "unkeyed" })).toBe(false);
    }
    expect(readFileSync(path.join(dir, "audit.jsonl"), "utf8")).toBe(before);
    expect(verifyAuditLog(dir)).toMatchObject({ ok: false, line: 1, unverified: true });
    const cli = await auditCli(["verify"], dir, { AUDIT_KEY_FILE: other.file });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(
      new RegExp(
        `^audit log NOT VERIFIED: .*line 1: it is keyed with key ${key.id}, and the key at hand is ${other.key.id}`,
      ),
    );
    // A deliberate key change: reseal keeps the old log and starts a chain under the new key.
    expect(await auditCli(["reseal"], dir, { AUDIT_KEY_FILE: other.file })).toMatchObject({ code: 0 });
    expect(verifyAuditLog(dir, other.key)).toMatchObject({
      ok: true,
      entries: 1,
      keyed: { key: other.key.id, from: 1 },
    });
  });

  it("refuses a key file that is too short, naming the fix", async () => {
    const { file } = keyFile("short");
    const dir = mkdtempSync(path.join(tmpdir(), "audit-"));
    const cli = await auditCli(["verify"], dir, { AUDIT_KEY_FILE: file });
    expect(cli).toMatchObject({ code: 2, stderr: expect.stringContaining("openssl rand -hex 32") as string });
  });

  it("never writes audit.head through a symbolic link planted at its temp name, nor appends through one at audit.jsonl", () => {
    const { dir } = logWith(1);
    const victim = path.join(mkdtempSync(path.join(tmpdir(), "victim-")), "passwd");
    writeFileSync(victim, "root:x:0:0\n");
    symlinkSync(victim, path.join(dir, "audit.head.tmp"));
    expect(() => createAuditLog(dir).append({ type: "after" })).toThrow(/ELOOP/);
    expect(readFileSync(victim, "utf8")).toBe("root:x:0:0\n");
    // Nor appends through one planted at audit.jsonl (dangling: the old code created its target).
    const other = logWith(0);
    const created = path.join(path.dirname(victim), "cron-job");
    symlinkSync(created, other.file);
    expect(() => createAuditLog(other.dir).append({ type: "after" })).toThrow(/ELOOP/);
    expect(existsSync(created)).toBe(false);
  });
});
