import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";

const GENESIS = "0".repeat(64);

interface ChainedEntry {
  seq: number;
  at: string;
  prev: string;
  hash: string;
  event: unknown;
}

const hashOf = (seq: number, at: string, prev: string, event: unknown) =>
  createHash("sha256")
    .update(JSON.stringify([seq, at, prev, event]))
    .digest("hex");

/**
 * The append-only audit log, STATE_DIR/audit.jsonl: each line holds the hash of the previous
 * one, and audit.head records the last sequence number and hash, so an edited, deleted or
 * truncated line is detected by `verifyAuditLog`.
 */
export function createAuditLog(stateDir: string, now: () => Date = () => new Date()) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, "audit.jsonl");
  const headFile = path.join(stateDir, "audit.head");
  let head = existsSync(headFile)
    ? (JSON.parse(readFileSync(headFile, "utf8")) as { seq: number; hash: string })
    : { seq: 0, hash: GENESIS };
  return {
    file,
    append(event: unknown): void {
      const seq = head.seq + 1;
      const at = now().toISOString();
      const hash = hashOf(seq, at, head.hash, event);
      const entry: ChainedEntry = { seq, at, prev: head.hash, hash, event };
      appendFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      head = { seq, hash };
      writeFileAtomic.sync(headFile, JSON.stringify(head), { mode: 0o600 });
    },
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;

export type VerifyResult = { ok: true; entries: number } | { ok: false; line: number; problem: string };

/** Recomputes the chain; reports the first line that was edited, removed or added out of order. */
export function verifyAuditLog(stateDir: string): VerifyResult {
  const file = path.join(stateDir, "audit.jsonl");
  const headFile = path.join(stateDir, "audit.head");
  const lines = existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
  let prev = GENESIS;
  for (const [index, text] of lines.entries()) {
    let entry: ChainedEntry;
    try {
      entry = JSON.parse(text) as ChainedEntry;
    } catch {
      return { ok: false, line: index + 1, problem: "not valid JSON" };
    }
    if (entry.seq !== index + 1)
      return {
        ok: false,
        line: index + 1,
        problem: `sequence ${entry.seq} where ${index + 1} was expected: a line before it was removed or added`,
      };
    if (entry.prev !== prev)
      return { ok: false, line: index + 1, problem: "does not follow the previous line: a line was removed or edited" };
    if (hashOf(entry.seq, entry.at, entry.prev, entry.event) !== entry.hash)
      return { ok: false, line: index + 1, problem: "its content was edited" };
    prev = entry.hash;
  }
  const recorded = existsSync(headFile)
    ? (JSON.parse(readFileSync(headFile, "utf8")) as { seq: number; hash: string })
    : { seq: 0, hash: GENESIS };
  if (recorded.seq !== lines.length || recorded.hash !== prev) {
    return {
      ok: false,
      line: lines.length,
      problem: `the log ends at entry ${lines.length} but audit.head records ${recorded.seq}: lines were removed from the end`,
    };
  }
  return { ok: true, entries: lines.length };
}
