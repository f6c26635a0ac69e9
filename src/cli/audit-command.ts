import { parseArgs } from "node:util";
import { verifyAuditLog } from "../audit/audit-log.js";
import { ConfigError, parseConfig } from "../config/parse-config.js";
import { EXIT, type CliIo } from "./cli-io.js";

export const AUDIT_USAGE =
  "Usage: rotabot audit verify [--state-dir DIR]   (checks STATE_DIR/audit.jsonl for edited or removed lines)";

/** `rotabot audit verify`: recomputes the audit log's hash chain. */
export function runAuditCommand(args: string[], io: CliIo): Promise<number> {
  return Promise.resolve(verifyCommand(args, io));
}

function verifyCommand(args: string[], io: CliIo): number {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { "state-dir": { type: "string" } } });
  } catch (error) {
    io.stderr(`rotabot audit: ${(error as Error).message}\n${AUDIT_USAGE}\n`);
    return EXIT.usage;
  }
  if (parsed.positionals[0] !== "verify") {
    io.stderr(`${AUDIT_USAGE}\n`);
    return EXIT.usage;
  }
  let stateDir: string;
  try {
    const env = parsed.values["state-dir"] ? { ...io.env, STATE_DIR: parsed.values["state-dir"] } : io.env;
    stateDir = parseConfig(env, { purpose: "cli", packageRoot: io.packageRoot }).stateDir;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`rotabot audit: ${error.message}\n`);
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
