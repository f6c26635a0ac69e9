import { readFileSync } from "node:fs";
import path from "node:path";
import { fail, type Result } from "../result.js";

/**
 * Reads one systemd credential, `$CREDENTIALS_DIRECTORY/<name>` (LoadCredential= or
 * LoadCredentialEncrypted= in the unit; systemd decrypts it into a private in-memory folder).
 * `missing` when there is no credentials directory or no such credential.
 */
export type ReadCredential = (
  credentialsDirectory: string,
  name: string,
) => Result<{ value: string; file: string }, "missing" | "unreadable">;

/** The real reader; the value is returned with one trailing newline removed, never logged. */
export const readCredentialFile: ReadCredential = (credentialsDirectory, name) => {
  const file = path.join(credentialsDirectory, name);
  try {
    return { ok: true, value: readFileSync(file, "utf8").replace(/\r?\n$/, ""), file };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return fail("missing", `${file} does not exist`);
    return fail(
      "unreadable",
      `cannot read the systemd credential ${file} (${code ?? "error"}): run rotabot as the unit's user, or check LoadCredentialEncrypted= in the unit`,
    );
  }
};
