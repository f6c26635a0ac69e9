import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createAuditLog, verifyAuditLog } from "../../../src/audit/audit-log.js";

function logWith(n: number) {
  const dir = mkdtempSync(path.join(tmpdir(), "audit-"));
  const log = createAuditLog(dir);
  for (let i = 1; i <= n; i++) log.append({ type: "step_ok", n: i });
  return {
    dir,
    file: path.join(dir, "audit.jsonl"),
    lines: () => readFileSync(path.join(dir, "audit.jsonl"), "utf8").split("\n").filter(Boolean),
  };
}

describe("hash-chained audit log", () => {
  it("verifies an untouched log, also across reopening", () => {
    const { dir } = logWith(3);
    createAuditLog(dir).append({ type: "later" });
    expect(verifyAuditLog(dir)).toEqual({ ok: true, entries: 4 });
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
