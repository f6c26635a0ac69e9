import { ConfigError, parseConfig, type Config } from "../config/parse-config.js";
import type { CliIo } from "./cli-io.js";

/**
 * The settings of a shell command, with `--infra DIR` standing in for INFRA_DIR: parsed once, a
 * ConfigError coming back as a value for the command to say in its own words.
 */
export function readCliConfig(
  io: CliIo,
  infra: string | undefined,
): { ok: true; config: Config } | { ok: false; error: ConfigError } {
  try {
    const env = infra ? { ...io.env, INFRA_DIR: infra } : io.env;
    return { ok: true, config: parseConfig(env, { purpose: "cli", packageRoot: io.packageRoot }) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, error };
  }
}
