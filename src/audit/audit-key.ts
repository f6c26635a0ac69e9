import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { fail, type Result } from "../result.js";

/**
 * The audit log's HMAC key (like Vault's audit device HMAC): kept outside STATE_DIR, as the
 * systemd credential `audit_key` beside the bot token, so that whoever can write the log cannot
 * recompute a line's MAC. `id` names it in the log and in `rotabot audit verify`; the key itself
 * is never written anywhere.
 */
export interface AuditKey {
  /** 12 hex characters of a hash of the key: which key, never the key. */
  id: string;
  /** Where it was read from (for messages). */
  file: string;
  /** HMAC-SHA256 of `text` under the key, hex. */
  mac(text: string): string;
}

/** At least this many characters: `openssl rand -hex 32` gives 64, what the install role writes. */
export const AUDIT_KEY_MIN = 32;

/** The key id of a key's text (also what tests compare against). */
export function auditKeyId(secret: string): string {
  return createHash("sha256").update(`rotabot audit key\0${secret}`).digest("hex").slice(0, 12);
}

/** An AuditKey from the key's text (the file's contents without a trailing newline). */
export function auditKeyOf(secret: string, file: string): AuditKey {
  const key = Buffer.from(secret, "utf8");
  return { id: auditKeyId(secret), file, mac: (text) => createHmac("sha256", key).update(text).digest("hex") };
}

/**
 * Reads the key configured (AUDIT_KEY_FILE, else the systemd credential `audit_key`). No key
 * configured, or the credential missing, is `undefined`: the log stays sha256-chained only, as
 * before keys. A key file named explicitly that is missing, unreadable or too short is a problem.
 */
export function loadAuditKey(
  configured: { file: string; required: boolean } | undefined,
): Result<{ key: AuditKey | undefined }, "audit_key"> {
  if (!configured) return { ok: true, key: undefined };
  const { file, required } = configured;
  let text: string;
  try {
    text = readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !required) return { ok: true, key: undefined };
    return fail(
      "audit_key",
      `cannot read the audit log's key ${file} (${code ?? "error"}): run rotabot as the service user with its credentials (docs/operating.md), or point AUDIT_KEY_FILE at the key`,
    );
  }
  if (text.trim().length < AUDIT_KEY_MIN)
    return fail(
      "audit_key",
      `the audit log's key ${file} is shorter than ${AUDIT_KEY_MIN} characters: write a random one (openssl rand -hex 32), see docs/security.md`,
    );
  return { ok: true, key: auditKeyOf(text, file) };
}
