import { loadAuditKey, type AuditKey } from "../audit/audit-key.js";
import { describeRepair, resealAuditLog, verifyAuditLog, type VerifyResult } from "../audit/audit-log.js";
import { ConfigError, parseConfig } from "../config/parse-config.js";
import { LockBusyError } from "../fs/lock-file-sync.js";
import { prepareStateDir } from "../fs/prepare-state-dir.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { readCommandLine } from "./usage.js";

/** `rotabot audit verify|reseal`: recomputes the audit log's hash chain, or restarts a damaged one. */
export function runAuditCommand(args: string[], io: CliIo): Promise<number> {
  return Promise.resolve(auditCommand(args, io));
}

function auditCommand(args: string[], io: CliIo): number {
  const line = readCommandLine("audit", args, io);
  if (!line.ok) return line.exitCode;
  const [action] = line.positionals;
  let stateDir: string;
  let key: AuditKey | undefined;
  try {
    const env = line.values["state-dir"] ? { ...io.env, STATE_DIR: line.values["state-dir"] } : io.env;
    const config = parseConfig(env, { purpose: "cli", packageRoot: io.packageRoot });
    stateDir = config.stateDir;
    const loaded = loadAuditKey(config.auditKey);
    if (!loaded.ok) {
      io.stderr(`rotabot audit: ${loaded.message}\n`);
      return EXIT.usage;
    }
    key = loaded.key;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`rotabot audit: ${error.message}\n`);
    return EXIT.usage;
  }
  const usable = prepareStateDir(stateDir, { access: action === "reseal" ? "write" : "read" });
  if (!usable.ok) {
    io.stderr(`rotabot audit: ${usable.message}\n`);
    return EXIT.usage;
  }
  if (action === "reseal") {
    try {
      const sealed = resealAuditLog(stateDir, io.env.USER ?? "unknown", io.now, key);
      io.stdout(`rotabot audit reseal: ${sealed.message}\n`);
      return EXIT.ok;
    } catch (error) {
      if (!(error instanceof LockBusyError)) throw error;
      io.stderr(`rotabot audit reseal: ${error.message}; retry when it is done\n`);
      return EXIT.attention;
    }
  }
  const result = verifyAuditLog(stateDir, key);
  if (!result.ok) {
    io.stderr(
      `audit log ${result.unverified ? "NOT VERIFIED" : "TAMPERED"}: ${stateDir}/audit.jsonl line ${result.line}: ${result.problem}\nWhat to do: ${result.advice}\n`,
    );
    return EXIT.attention;
  }
  const notes = [
    ...result.repairs.map((r) => `  line ${r.line}: crash repaired, not an edit: ${describeRepair(r.repair)}\n`),
    ...result.pending.map((p) => `  crash, not an edit: ${p}\n`),
  ];
  io.stdout(
    `audit log intact: ${result.entries} entries in ${stateDir}/audit.jsonl\n${notes.join("")}  ${describeKeying(result, key)}\n`,
  );
  return EXIT.ok;
}

/** Which key verified the log and from which line, or why it is sha256-chained only. */
function describeKeying(result: Extract<VerifyResult, { ok: true }>, key: AuditKey | undefined): string {
  const { keyed, entries } = result;
  const unkeyedOnly =
    "someone who can write STATE_DIR could rewrite it and re-hash every line; compare it with the audit channel";
  if (keyed === undefined)
    return key
      ? `not keyed (sha256 chain only: ${unkeyedOnly}). Key ${key.id} (${key.file}) is at hand: rotabot keys the log with it from the next line it writes. A log that was keyed before and reads as not keyed now was rewritten`
      : `not keyed (sha256 chain only: ${unkeyedOnly}). Give rotabot a key (the systemd credential audit_key, or AUDIT_KEY_FILE; docs/security.md) to key it`;
  const earlier =
    keyed.from > 1 ? `; lines 1-${keyed.from - 1} were written before the key (sha256 only: ${unkeyedOnly})` : "";
  return `verified with HMAC-SHA256 key ${keyed.key} (${key?.file ?? "?"}) from line ${keyed.from} to line ${entries}${earlier}`;
}
