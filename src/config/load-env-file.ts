import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/**
 * Merges a `.env` file under the given environment: variables already set win, as with dotenv.
 * A missing file is not an error unless `required`; `0` reads standard input. Returns the merged
 * map without touching the input.
 */
export function withEnvFile(
  env: Readonly<Record<string, string | undefined>>,
  file: string | 0,
  { required = false } = {},
): Record<string, string | undefined> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && !required) return { ...env };
    throw error;
  }
  return { ...parseEnv(text), ...env };
}
