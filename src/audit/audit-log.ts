import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
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
import type { AuditKey } from "./audit-key.js";

const GENESIS = "0".repeat(64);
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * One line of the log. `hash` chains it to the line before: sha256 of its fields for a line
 * written without a key, HMAC-SHA256 under the key `key` names for a keyed line.
 */
interface ChainedEntry {
  seq: number;
  at: string;
  prev: string;
  hash: string;
  /** The id of the audit key the line's HMAC was made with; absent on a sha256-only line. */
  key?: string;
  event: unknown;
}

interface Head {
  seq: number;
  hash: string;
  /** The key the last line was written with, when it was keyed. */
  key?: string;
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
  | {
      ok: true;
      repairs: AuditRepair[];
      /** Set when this opening keyed a log that was not keyed (from this line on). */ keyedFrom?: number;
    }
  | { ok: false; reason: "tampered" | "locked" | "key"; message: string };

/** What an operator does about a log that does not verify. */
export const TAMPERED_ADVICE =
  "keep copies of STATE_DIR/audit.jsonl and audit.head as evidence and find out what changed them (the audit channel holds the same events); rotabot appends nothing to the local log meanwhile. Then run `rotabot audit reseal`: it keeps the damaged log under a new name and starts a new chain that records why";

/** What a line's hash covers: its fields, and the key's id on a keyed line (so it cannot be moved to another key). */
const payloadOf = (seq: number, at: string, prev: string, event: unknown, keyId: string | undefined) =>
  JSON.stringify(keyId === undefined ? [seq, at, prev, event] : [seq, at, prev, event, keyId]);
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
/** The hash of a new line: keyed when a key is given. */
const hashOf = (seq: number, at: string, prev: string, event: unknown, key?: AuditKey) =>
  key ? key.mac(payloadOf(seq, at, prev, event, key.id)) : sha256(payloadOf(seq, at, prev, event, undefined));

const isHash = (value: unknown): value is string => typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
const isKeyId = (value: unknown): value is string => typeof value === "string" && /^[0-9a-f]{12}$/.test(value);
const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function parseEntry(text: string): ChainedEntry | undefined {
  try {
    const entry = JSON.parse(text) as Partial<ChainedEntry> | null;
    if (!entry || !isSeq(entry.seq) || typeof entry.at !== "string" || !isHash(entry.prev) || !isHash(entry.hash))
      return undefined;
    if (entry.key !== undefined && !isKeyId(entry.key)) return undefined;
    return entry as ChainedEntry;
  } catch {
    return undefined;
  }
}

/** Whether a line's hash is right: `other_key` when it is keyed with a key not at hand (it cannot be checked). */
function checkEntry(entry: ChainedEntry, key: AuditKey | undefined): "ok" | "edited" | "other_key" {
  const { seq, at, prev, event } = entry;
  if (entry.key === undefined)
    return sha256(payloadOf(seq, at, prev, event, undefined)) === entry.hash ? "ok" : "edited";
  if (key?.id !== entry.key) return "other_key";
  return key.mac(payloadOf(seq, at, prev, event, entry.key)) === entry.hash ? "ok" : "edited";
}
const chains = (entry: ChainedEntry, key: AuditKey | undefined) => checkEntry(entry, key) === "ok";

/** Why rotabot cannot append to (or verify) a log keyed with another key than the one it has. */
function otherKeyProblem(logKey: string, key: AuditKey | undefined): string {
  return `the audit log is keyed with key ${logKey}, and this rotabot has ${key ? `key ${key.id} (${key.file})` : "no audit key"}: run it with the key the log was written with (the systemd credential audit_key, or AUDIT_KEY_FILE; docs/operating.md shows how to run a command with the service's credentials)${key ? ", or, after a deliberate key change, run rotabot audit reseal to start a new chain under this key" : ""}`;
}

/** The first line of the log that is keyed, if any (read once, when a log that ends unkeyed is to be keyed). */
function firstKeyedLine(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, "utf8").split("\n");
  for (const [index, text] of lines.entries()) if (parseEntry(text)?.key !== undefined) return index + 1;
  return undefined;
}

/** audit.head, or a problem when it is there but damaged. A missing head is the start of a log. */
function readHead(headFile: string): { ok: true; head: Head } | { ok: false; problem: string } {
  if (!existsSync(headFile)) return { ok: true, head: { seq: 0, hash: GENESIS } };
  const text = readFileSync(headFile, "utf8");
  try {
    const head = JSON.parse(text) as Partial<Head> | null;
    if (head && isSeq(head.seq) && isHash(head.hash) && (head.key === undefined || isKeyId(head.key)))
      return { ok: true, head: { seq: head.seq, hash: head.hash, ...(head.key ? { key: head.key } : {}) } };
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
  /**
   * The HMAC key: every line written is keyed with it. A log written without a key is keyed from
   * the next line on (an `audit_keyed` line says from where); a keyed log is never appended to
   * without its key.
   */
  key?: AuditKey | undefined;
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
  { crash = noCrashPoints, key }: AuditLogOptions = {},
) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, "audit.jsonl");
  const headFile = path.join(stateDir, "audit.head");
  const lockFile = path.join(stateDir, "audit.lock");

  function writeLine(head: Head, event: unknown): Head {
    const seq = head.seq + 1;
    const at = now().toISOString();
    const hash = hashOf(seq, at, head.hash, event, key);
    const entry: ChainedEntry = { seq, at, prev: head.hash, hash, ...(key ? { key: key.id } : {}), event };
    // Never through a link planted at audit.jsonl: rotabot may run as root on the shell.
    const fd = openSync(file, APPEND, 0o600);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    crash("audit:before-head");
    const next: Head = { seq, hash, ...(key ? { key: key.id } : {}) };
    replaceFileSync(headFile, `${headFile}.tmp`, JSON.stringify(next));
    return next;
  }

  /**
   * Brings log and head back in step after a crash; a mismatch no crash explains is a problem, and
   * so is a keyed log without its key (`keyProblem`: nothing may be appended unkeyed after keyed
   * lines). Keys a log that was not keyed yet. Under the lock.
   */
  function reconcile():
    | { ok: true; head: Head; repairs: AuditRepair[]; keyedFrom: number | undefined }
    | { ok: false; problem: string; keyProblem?: true } {
    const read = readHead(headFile);
    if (!read.ok) return read;
    const { head } = read;
    const tail = readTail(file);
    const last = tail.last === undefined ? undefined : parseEntry(tail.last);
    const logKey = last?.key ?? head.key;
    if (logKey !== undefined && logKey !== key?.id)
      return { ok: false, problem: otherKeyProblem(logKey, key), keyProblem: true };
    if (tail.last !== undefined && (!last || !chains(last, key)))
      return { ok: false, problem: "the last line of audit.jsonl is not an entry rotabot wrote (edited)" };
    let current: Head = last
      ? { seq: last.seq, hash: last.hash, ...(last.key ? { key: last.key } : {}) }
      : { seq: 0, hash: GENESIS };
    const inStep = current.seq === head.seq && current.hash === head.hash && current.key === head.key;
    const headBehind = last !== undefined && last.seq === head.seq + 1 && last.prev === head.hash;
    if (!inStep && !headBehind)
      return {
        ok: false,
        problem: `audit.head records entry ${head.seq} but audit.jsonl ends at entry ${current.seq}: ${head.seq > current.seq ? "lines were removed from the end" : "lines were added or audit.head was replaced"}`,
      };
    const repairs: AuditRepair[] = [];
    if (tail.fragment.length > 0) {
      const cut = parseEntry(tail.fragment.toString("utf8"));
      const fd = openSync(file, constants.O_RDWR | constants.O_NOFOLLOW);
      try {
        if (cut && chains(cut, key) && cut.seq === current.seq + 1 && cut.prev === current.hash) {
          writeSync(fd, "\n", tail.size);
          current = { seq: cut.seq, hash: cut.hash, ...(cut.key ? { key: cut.key } : {}) };
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
    // A key given to a log written without one: keyed from here on, and the log says from where.
    // Unless some line is keyed already: then keyed lines were re-written without the key.
    let keyedFrom: number | undefined;
    if (key && current.key === undefined) {
      const stripped = firstKeyedLine(file);
      if (stripped !== undefined)
        return {
          ok: false,
          problem: `line ${stripped} is keyed, but the log ends with lines that are not: lines after it were re-written without the key`,
        };
      keyedFrom = current.seq + 1;
      current = writeLine(current, { type: "audit_keyed", key: key.id, from: keyedFrom });
    }
    for (const repair of repairs) current = writeLine(current, { type: "audit_repaired", ...repair });
    return { ok: true, head: current, repairs, keyedFrom };
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

  /** The state a failed reconcile leaves: locked, keyed with another key, or tampered. */
  const problemState = (
    failed: Exclude<ReturnType<typeof reconcile>, { ok: true }> | { ok: false; reason: "locked"; message: string },
  ): AuditLogState =>
    "reason" in failed
      ? failed
      : failed.keyProblem
        ? {
            ok: false,
            reason: "key",
            message: `audit log not written: ${failed.problem}. Nothing is appended to it meanwhile`,
          }
        : { ok: false, reason: "tampered", message: `audit log TAMPERED: ${failed.problem}. ${TAMPERED_ADVICE}` };
  const opened = locked(reconcile);
  let state: AuditLogState = opened.ok
    ? { ok: true, repairs: opened.repairs, ...(opened.keyedFrom !== undefined ? { keyedFrom: opened.keyedFrom } : {}) }
    : problemState(opened);

  return {
    file,
    /** How the log was found on opening; announce a problem (the log is then read-only). */
    get state(): AuditLogState {
      return state;
    },
    /** Appends one event; false (nothing written) when the log is read-only. */
    append(event: unknown): boolean {
      if (!state.ok && state.reason !== "locked") return false;
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
      state = problemState(done);
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
      /** From which line on the log is keyed, and with which key; undefined when no line is. */
      keyed?: { key: string; from: number } | undefined;
    }
  | {
      ok: false;
      line: number;
      problem: string;
      advice: string;
      /** True when the line could not be checked (keyed with a key not at hand), rather than found edited. */
      unverified?: true;
    };

/**
 * Recomputes the chain; reports the first line that was edited, removed or added out of order.
 * With the key, keyed lines are checked by their HMAC, so a line forged and re-hashed by someone
 * without the key, or an unkeyed line after the first keyed one, is found; a line keyed with a key
 * not at hand is reported as unverified. What a crash leaves (a line cut short at the end,
 * audit.head one entry behind) and what recovery repaired are reported as such, not as
 * tampering. Reads only.
 */
export function verifyAuditLog(stateDir: string, key?: AuditKey): VerifyResult {
  const file = path.join(stateDir, "audit.jsonl");
  const pieces = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [""];
  const fragment = pieces.pop()!;
  const tampered = (line: number, problem: string) => ({ ok: false, line, problem, advice: TAMPERED_ADVICE }) as const;
  const repairs: { line: number; repair: AuditRepair }[] = [];
  let keyed: { key: string; from: number } | undefined;
  let prev = GENESIS;
  for (const [index, text] of pieces.entries()) {
    const line = index + 1;
    const entry = parseEntry(text);
    if (!entry) return tampered(line, "not an audit entry (not valid JSON, or fields missing)");
    if (entry.seq !== line)
      return tampered(line, `sequence ${entry.seq} where ${line} was expected: a line before it was removed or added`);
    if (entry.prev !== prev) return tampered(line, "does not follow the previous line: a line was removed or edited");
    if (keyed && entry.key === undefined)
      return tampered(
        line,
        `it is not keyed, but the log is keyed from line ${keyed.from}: a line written without the key (an edit re-hashed with sha256)`,
      );
    if (keyed && entry.key !== keyed.key)
      return tampered(
        line,
        `it names key ${entry.key}, but the log is keyed with key ${keyed.key} from line ${keyed.from}`,
      );
    const checked = checkEntry(entry, key);
    if (checked === "other_key")
      return {
        ok: false,
        line,
        unverified: true,
        problem: `it is keyed with key ${entry.key}, and ${key ? `the key at hand is ${key.id} (${key.file})` : "no audit key is at hand"}`,
        advice:
          "run rotabot audit verify with the key the log was written with: as the service user with its credentials (docs/operating.md), or with AUDIT_KEY_FILE pointing at the key",
      };
    if (checked === "edited")
      return tampered(
        line,
        entry.key === undefined
          ? "its content was edited"
          : `its content was edited (its HMAC under key ${entry.key} does not match)`,
      );
    if (entry.key !== undefined) keyed ??= { key: entry.key, from: line };
    const event = entry.event as ({ type?: unknown } & AuditRepair) | null;
    if (event?.type === "audit_repaired") {
      const repair = { ...event };
      delete repair.type;
      repairs.push({ line, repair });
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
  const keyAt = (n: number) => (n === 0 ? undefined : parseEntry(pieces[n - 1]!)!.key);
  if (seq === entries - 1 && hash === hashAt(seq) && head.head.key === keyAt(seq)) {
    pending.push(
      `audit.head is one entry behind: a crash came between line ${entries} and audit.head; rotabot completes it, and records that, when it next opens the log`,
    );
  } else if (seq !== entries || hash !== prev || head.head.key !== keyAt(entries)) {
    return tampered(
      entries,
      seq > entries
        ? `the log ends at entry ${entries} but audit.head records ${seq}: lines were removed from the end`
        : seq === entries && hash === prev
          ? "audit.head names another key than the last line: audit.head was replaced"
          : `the log ends at entry ${entries} but audit.head records ${seq}: audit.head was replaced or lines were added`,
    );
  }
  return { ok: true, entries, repairs, pending, keyed };
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
  key?: AuditKey,
): { resealed: false; message: string } | { resealed: true; archive: string; message: string } {
  const file = path.join(stateDir, "audit.jsonl");
  const headFile = path.join(stateDir, "audit.head");
  return withFileLockSync(path.join(stateDir, "audit.lock"), () => {
    const result = verifyAuditLog(stateDir, key);
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
    const hash = hashOf(1, at, GENESIS, event, key);
    const keyed = key ? { key: key.id } : {};
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ seq: 1, at, prev: GENESIS, hash, ...keyed, event })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    replaceFileSync(headFile, `${headFile}.tmp`, JSON.stringify({ seq: 1, hash, ...keyed }));
    return {
      resealed: true,
      archive,
      message: `kept the old log as ${archive}; a new chain starts with an entry recording it (${result.problem})`,
    };
  });
}
