import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { noCrashPoints, type ReachCrashPoint } from "../fs/crash-points.js";
import { LockBusyError, withFileLockSync } from "../fs/lock-file-sync.js";
import { replaceFileSync } from "../fs/replace-file.js";

const GENESIS = "0".repeat(64);

interface ChainedEntry {
  seq: number;
  at: string;
  prev: string;
  hash: string;
  event: unknown;
}

interface Head {
  seq: number;
  hash: string;
}

/** What recovery did to a half-written append; recorded in the log itself as an `audit_repaired` entry. */
export type AuditRepair =
  | { repair: "head_completed"; seq: number }
  | { repair: "line_completed"; seq: number }
  | { repair: "torn_line_discarded"; bytes: number; sha256: string };

/**
 * The audit log as rotabot found it. `tampered`: the log or audit.head was changed by something
 * other than rotabot (or is damaged); nothing is appended until an operator looks (read-only).
 */
export type AuditLogState =
  { ok: true; repairs: AuditRepair[] } | { ok: false; reason: "tampered" | "locked"; message: string };

/** What an operator does about a log that does not verify. */
export const TAMPERED_ADVICE =
  "keep copies of STATE_DIR/audit.jsonl and audit.head as evidence and find out what changed them (the audit channel holds the same events); rotabot appends nothing to the local log meanwhile. Then run `rotabot audit reseal`: it keeps the damaged log under a new name and starts a new chain that records why";

const hashOf = (seq: number, at: string, prev: string, event: unknown) =>
  createHash("sha256")
    .update(JSON.stringify([seq, at, prev, event]))
    .digest("hex");

const isHash = (value: unknown): value is string => typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function parseEntry(text: string): ChainedEntry | undefined {
  try {
    const entry = JSON.parse(text) as Partial<ChainedEntry> | null;
    if (!entry || !isSeq(entry.seq) || typeof entry.at !== "string" || !isHash(entry.prev) || !isHash(entry.hash))
      return undefined;
    return entry as ChainedEntry;
  } catch {
    return undefined;
  }
}
const chains = (entry: ChainedEntry) => hashOf(entry.seq, entry.at, entry.prev, entry.event) === entry.hash;

/** audit.head, or a problem when it is there but damaged. A missing head is the start of a log. */
function readHead(headFile: string): { ok: true; head: Head } | { ok: false; problem: string } {
  if (!existsSync(headFile)) return { ok: true, head: { seq: 0, hash: GENESIS } };
  const text = readFileSync(headFile, "utf8");
  try {
    const head = JSON.parse(text) as Partial<Head> | null;
    if (head && isSeq(head.seq) && isHash(head.hash)) return { ok: true, head: { seq: head.seq, hash: head.hash } };
  } catch {
    // reported below
  }
  return {
    ok: false,
    problem: `audit.head is damaged (${text.length === 0 ? "empty" : "not a {seq, hash} record"}); rotabot writes it only by atomic rename, so it was edited or truncated`,
  };
}

/** The last complete line of the log and any bytes after it (an append cut short), reading only the end. */
function readTail(file: string): { last: string | undefined; fragment: Buffer; size: number } {
  if (!existsSync(file)) return { last: undefined, fragment: Buffer.alloc(0), size: 0 };
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    for (let chunk = 64 * 1024; ; chunk *= 4) {
      const start = Math.max(0, size - chunk);
      const bytes = Buffer.alloc(size - start);
      readSync(fd, bytes, 0, bytes.length, start);
      const end = bytes.lastIndexOf(0x0a);
      const fragment = bytes.subarray(end + 1);
      if (end === -1 && start > 0) continue;
      const before = bytes.lastIndexOf(0x0a, end - 1);
      if (before === -1 && start > 0) continue;
      const last = end === -1 ? undefined : bytes.subarray(before + 1, end).toString("utf8");
      return { last, fragment, size };
    }
  } finally {
    closeSync(fd);
  }
}

export interface AuditLogOptions {
  /** Crash tests stop rotabot between an audit line and audit.head. */
  crash?: ReachCrashPoint;
}

/**
 * The append-only audit log, STATE_DIR/audit.jsonl: each line holds the hash of the previous
 * one, and audit.head records the last sequence number and hash, so an edited, deleted or
 * truncated line is detected by `verifyAuditLog`. Appends from every rotabot process go
 * through one lock; each line is fsynced before audit.head moves. Opening (and every append)
 * first finishes or discards an append a crash cut short, and records that as an entry. A log
 * that does not check out is not appended to: `state` says why (announce it; the rest of
 * rotabot runs on).
 */
export function createAuditLog(
  stateDir: string,
  now: () => Date = () => new Date(),
  { crash = noCrashPoints }: AuditLogOptions = {},
) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, "audit.jsonl");
  const headFile = path.join(stateDir, "audit.head");
  const lockFile = path.join(stateDir, "audit.lock");

  function writeLine(head: Head, event: unknown): Head {
    const seq = head.seq + 1;
    const at = now().toISOString();
    const hash = hashOf(seq, at, head.hash, event);
    const entry: ChainedEntry = { seq, at, prev: head.hash, hash, event };
    const fd = openSync(file, "a", 0o600);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    crash("audit:before-head");
    const next = { seq, hash };
    replaceFileSync(headFile, `${headFile}.tmp`, JSON.stringify(next));
    return next;
  }

  /** Brings log and head back in step after a crash; a mismatch no crash explains is a problem. Under the lock. */
  function reconcile(): { ok: true; head: Head; repairs: AuditRepair[] } | { ok: false; problem: string } {
    const read = readHead(headFile);
    if (!read.ok) return read;
    const { head } = read;
    const tail = readTail(file);
    const last = tail.last === undefined ? undefined : parseEntry(tail.last);
    if (tail.last !== undefined && (!last || !chains(last)))
      return { ok: false, problem: "the last line of audit.jsonl is not an entry rotabot wrote (edited)" };
    let current: Head = last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS };
    const inStep = current.seq === head.seq && current.hash === head.hash;
    const headBehind = last !== undefined && last.seq === head.seq + 1 && last.prev === head.hash;
    if (!inStep && !headBehind)
      return {
        ok: false,
        problem: `audit.head records entry ${head.seq} but audit.jsonl ends at entry ${current.seq}: ${head.seq > current.seq ? "lines were removed from the end" : "lines were added or audit.head was replaced"}`,
      };
    const repairs: AuditRepair[] = [];
    if (tail.fragment.length > 0) {
      const cut = parseEntry(tail.fragment.toString("utf8"));
      const fd = openSync(file, "r+");
      try {
        if (cut && chains(cut) && cut.seq === current.seq + 1 && cut.prev === current.hash) {
          writeSync(fd, "\n", tail.size);
          current = { seq: cut.seq, hash: cut.hash };
          repairs.push({ repair: "line_completed", seq: cut.seq });
        } else {
          const sha256 = createHash("sha256").update(tail.fragment).digest("hex");
          ftruncateSync(fd, tail.size - tail.fragment.length);
          repairs.push({ repair: "torn_line_discarded", bytes: tail.fragment.length, sha256 });
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    if (current.seq !== head.seq) {
      replaceFileSync(headFile, `${headFile}.tmp`, JSON.stringify(current));
      repairs.unshift({ repair: "head_completed", seq: current.seq });
    }
    for (const repair of repairs) current = writeLine(current, { type: "audit_repaired", ...repair });
    return { ok: true, head: current, repairs };
  }

  function locked<T>(work: () => T): T | { ok: false; reason: "locked"; message: string } {
    try {
      return withFileLockSync(lockFile, work);
    } catch (error) {
      if (!(error instanceof LockBusyError)) throw error;
      return {
        ok: false,
        reason: "locked",
        message: `${lockFile} is held by process ${error.holder} for more than 10 s: check what it is doing (ps -p ${error.holder}); if it hangs, stop it`,
      };
    }
  }

  const opened = locked(reconcile);
  let state: AuditLogState = opened.ok
    ? { ok: true, repairs: opened.repairs }
    : "reason" in opened
      ? opened
      : { ok: false, reason: "tampered", message: `audit log TAMPERED: ${opened.problem}. ${TAMPERED_ADVICE}` };

  return {
    file,
    /** How the log was found on opening; announce a problem (the log is then read-only). */
    get state(): AuditLogState {
      return state;
    },
    /** Appends one event; false (nothing written) when the log is read-only. */
    append(event: unknown): boolean {
      if (!state.ok && state.reason === "tampered") return false;
      const done = locked(() => {
        const current = reconcile();
        if (!current.ok) return current;
        writeLine(current.head, event);
        return { ok: true as const };
      });
      if (done.ok) {
        if (!state.ok) state = { ok: true, repairs: [] };
        return true;
      }
      state =
        "reason" in done
          ? done
          : { ok: false, reason: "tampered", message: `audit log TAMPERED: ${done.problem}. ${TAMPERED_ADVICE}` };
      return false;
    },
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;

export type VerifyResult =
  | {
      ok: true;
      entries: number;
      /** Appends a crash cut short that rotabot repaired, each recorded at this line. */
      repairs: { line: number; repair: AuditRepair }[];
      /** A crash's leftovers not repaired yet (rotabot repairs them when it next opens the log). */
      pending: string[];
    }
  | { ok: false; line: number; problem: string; advice: string };

/**
 * Recomputes the chain; reports the first line that was edited, removed or added out of order.
 * What a crash leaves (a line cut short at the end, audit.head one entry behind) and what
 * recovery repaired are reported as such, not as tampering. Reads only.
 */
export function verifyAuditLog(stateDir: string): VerifyResult {
  const file = path.join(stateDir, "audit.jsonl");
  const pieces = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [""];
  const fragment = pieces.pop()!;
  const tampered = (line: number, problem: string) => ({ ok: false, line, problem, advice: TAMPERED_ADVICE }) as const;
  const repairs: { line: number; repair: AuditRepair }[] = [];
  let prev = GENESIS;
  for (const [index, text] of pieces.entries()) {
    const entry = parseEntry(text);
    if (!entry) return tampered(index + 1, "not an audit entry (not valid JSON, or fields missing)");
    if (entry.seq !== index + 1)
      return tampered(
        index + 1,
        `sequence ${entry.seq} where ${index + 1} was expected: a line before it was removed or added`,
      );
    if (entry.prev !== prev)
      return tampered(index + 1, "does not follow the previous line: a line was removed or edited");
    if (!chains(entry)) return tampered(index + 1, "its content was edited");
    const event = entry.event as ({ type?: unknown } & AuditRepair) | null;
    if (event?.type === "audit_repaired") {
      const repair = { ...event };
      delete repair.type;
      repairs.push({ line: index + 1, repair });
    }
    prev = entry.hash;
  }
  const entries = pieces.length;
  const pending: string[] = [];
  if (fragment !== "")
    pending.push(
      `the last append was cut short by a crash (${Buffer.byteLength(fragment)} bytes after line ${entries}); rotabot finishes or discards it, and records that, when it next opens the log`,
    );
  const head = readHead(path.join(stateDir, "audit.head"));
  if (!head.ok) return tampered(entries, head.problem);
  const { seq, hash } = head.head;
  const hashAt = (n: number) => (n === 0 ? GENESIS : parseEntry(pieces[n - 1]!)!.hash);
  if (seq === entries - 1 && hash === hashAt(seq)) {
    pending.push(
      `audit.head is one entry behind: a crash came between line ${entries} and audit.head; rotabot completes it, and records that, when it next opens the log`,
    );
  } else if (seq !== entries || hash !== prev) {
    return tampered(
      entries,
      seq > entries
        ? `the log ends at entry ${entries} but audit.head records ${seq}: lines were removed from the end`
        : `the log ends at entry ${entries} but audit.head records ${seq}: audit.head was replaced or lines were added`,
    );
  }
  return { ok: true, entries, repairs, pending };
}

/** How a repair reads in `rotabot audit verify`. */
export function describeRepair(repair: AuditRepair): string {
  switch (repair.repair) {
    case "head_completed":
      return `a crash came between entry ${repair.seq} and audit.head; audit.head was completed`;
    case "line_completed":
      return `a crash cut entry ${repair.seq} short of its newline; the newline was added`;
    case "torn_line_discarded":
      return `a crash cut an append short; its ${repair.bytes} bytes (sha256 ${String(repair.sha256).slice(0, 16)}…) were discarded`;
    default:
      return `a repair rotabot does not know (${JSON.stringify(repair)})`;
  }
}

/**
 * After an operator has looked at a log that does not verify: keeps audit.jsonl and audit.head
 * under `.tampered-<time>` names and starts a new chain whose first entry records the old
 * file's name, hash, size and problem. A log that verifies is left alone.
 */
export function resealAuditLog(
  stateDir: string,
  by: string,
  now: () => Date = () => new Date(),
): { resealed: false; message: string } | { resealed: true; archive: string; message: string } {
  const file = path.join(stateDir, "audit.jsonl");
  const headFile = path.join(stateDir, "audit.head");
  return withFileLockSync(path.join(stateDir, "audit.lock"), () => {
    const result = verifyAuditLog(stateDir);
    if (result.ok) return { resealed: false, message: "the audit log verifies; nothing to reseal" };
    const stamp = now().toISOString().replace(/[:.]/g, "-");
    const archive = `${file}.tampered-${stamp}`;
    const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    if (existsSync(file)) renameSync(file, archive);
    if (existsSync(headFile)) renameSync(headFile, `${headFile}.tampered-${stamp}`);
    const event = {
      type: "audit_log_restarted",
      by,
      previous: {
        file: path.basename(archive),
        bytes: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        line: result.line,
        problem: result.problem,
      },
    };
    const at = now().toISOString();
    const hash = hashOf(1, at, GENESIS, event);
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ seq: 1, at, prev: GENESIS, hash, event })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    replaceFileSync(headFile, `${headFile}.tmp`, JSON.stringify({ seq: 1, hash }));
    return {
      resealed: true,
      archive,
      message: `kept the old log as ${archive}; a new chain starts with an entry recording it (${result.problem})`,
    };
  });
}
