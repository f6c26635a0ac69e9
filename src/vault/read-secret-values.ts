import type { Redactor } from "../logging/redactor.js";
import { newKeyOf } from "../model/new-key.js";
import type { Vault } from "./create-vault.js";

export interface SecretValues {
  /** The canonical value (the old one until promote, the new one after). */
  current: string | undefined;
  /** `<key>_new`, until promote. */
  next: string | undefined;
}

/** Reads both values from the vault into memory and registers them for redaction before anyone sees them. */
export async function readSecretValues(
  vault: Vault,
  redactor: Redactor,
  key: string,
): Promise<{ ok: true; values: SecretValues } | { ok: false; message: string }> {
  const [current, next] = [await vault.read(key), await vault.read(newKeyOf(key))];
  if (!current.ok) return { ok: false, message: current.message };
  if (!next.ok) return { ok: false, message: next.message };
  for (const value of [current.value, next.value]) if (value !== undefined && value.length >= 6) redactor.add(value);
  return { ok: true, values: { current: current.value, next: next.value } };
}
