import { verifyAuditLog } from "../audit/audit-log.js";
import { ConfigError, parseConfig } from "../config/parse-config.js";
import { prepareStateDir } from "../fs/prepare-state-dir.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { readCommandLine } from "./usage.js";

/** `rotabot audit verify`: recomputes the audit log's hash chain. */
export function runAuditCommand(args: string[], io: CliIo): Promise<number> {
  return Promise.resolve(verifyCommand(args, io));
}

function verifyCommand(args: string[], io: CliIo): number {
  const line = readCommandLine("audit", args, io);
  if (!line.ok) return line.exitCode;
  let stateDir: string;
  try {
    const env = line.values["state-dir"] ? { ...io.env, STATE_DIR: line.values["state-dir"] } : io.env;
    stateDir = parseConfig(env, { purpose: "cli", packageRoot: io.packageRoot }).stateDir;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`rotabot audit: ${error.message}\n`);
    return EXIT.usage;
  }
  const usable = prepareStateDir(stateDir, { access: "read" });
  if (!usable.ok) {
    io.stderr(`rotabot audit: ${usable.message}\n`);
    return EXIT.usage;
  }
  const result = verifyAuditLog(stateDir);
  if (result.ok) {
    io.stdout(`audit log intact: ${result.entries} entries in ${stateDir}/audit.jsonl\n`);
    return EXIT.ok;
  }
  io.stderr(`audit log TAMPERED: ${stateDir}/audit.jsonl line ${result.line}: ${result.problem}\n`);
  return EXIT.attention;
}
