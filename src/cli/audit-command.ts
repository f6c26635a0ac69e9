import { describeRepair, resealAuditLog, verifyAuditLog } from "../audit/audit-log.js";
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
  try {
    const env = line.values["state-dir"] ? { ...io.env, STATE_DIR: line.values["state-dir"] } : io.env;
    stateDir = parseConfig(env, { purpose: "cli", packageRoot: io.packageRoot }).stateDir;
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
      const sealed = resealAuditLog(stateDir, io.env.USER ?? "unknown", io.now);
      io.stdout(`rotabot audit reseal: ${sealed.message}\n`);
      return EXIT.ok;
    } catch (error) {
      if (!(error instanceof LockBusyError)) throw error;
      io.stderr(`rotabot audit reseal: ${error.message}; retry when it is done\n`);
      return EXIT.attention;
    }
  }
  const result = verifyAuditLog(stateDir);
  if (!result.ok) {
    io.stderr(
      `audit log TAMPERED: ${stateDir}/audit.jsonl line ${result.line}: ${result.problem}\nWhat to do: ${result.advice}\n`,
    );
    return EXIT.attention;
  }
  const notes = [
    ...result.repairs.map((r) => `  line ${r.line}: crash repaired, not an edit: ${describeRepair(r.repair)}\n`),
    ...result.pending.map((p) => `  crash, not an edit: ${p}\n`),
  ];
  io.stdout(`audit log intact: ${result.entries} entries in ${stateDir}/audit.jsonl\n${notes.join("")}`);
  return EXIT.ok;
}
