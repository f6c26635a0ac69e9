import type { ManifestEntry } from "../manifest/read-manifest.js";
import type { Procedure, Runbook } from "./runbook-schema.js";

export type FindProcedureResult =
  | { kind: "found"; procedure: Procedure; key: string }
  | { kind: "ambiguous"; procedure: Procedure; keys: string[] }
  | {
      kind: "unknown";
      name: string;
      known: string[];
      /** Set when the name holds a character outside ASCII: which one, and that names are typed in ASCII. */
      lookalike?: string;
    };

/**
 * The first character of `typed` outside printable ASCII, described: U+212A KELVIN SIGN lowercases
 * to "k", fullwidth letters and Cyrillic look like Latin ones, zero-width characters look like
 * nothing. Every name the runbook and the manifest give is ASCII, so such a name is refused rather
 * than normalized into one it only looks like.
 */
export function describeLookalike(typed: string): string | undefined {
  for (const char of typed) {
    const code = char.codePointAt(0)!;
    if (code >= 0x20 && code < 0x7f) continue;
    const hex = code.toString(16).toUpperCase().padStart(4, "0");
    return `it holds U+${hex}, which is not a plain ASCII letter, digit, "_" or "-" (it may only look like one); type the name in ASCII`;
  }
  return undefined;
}

/**
 * Resolves what an operator typed (`telegram`, `vault_nats_password`, `api-token`) to a procedure
 * and the vault key it rotates. A category-wide procedure with several manifest keys is ambiguous.
 * Names match exactly but for ASCII case: anything outside ASCII (a Kelvin sign, a fullwidth or
 * Cyrillic letter, a zero-width space) resolves to nothing, however much it looks like a name.
 */
export function findProcedure(runbook: Runbook, entries: readonly ManifestEntry[], typed: string): FindProcedureResult {
  const lookalike = describeLookalike(typed.trim());
  if (lookalike !== undefined) return { kind: "unknown", name: typed, known: knownNames(runbook, entries), lookalike };
  const name = typed.trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
  for (const procedure of runbook.procedures) {
    if (
      procedure.secret !== undefined &&
      (name === procedure.secret || name === procedure.id || procedure.aliases.includes(name))
    ) {
      return { kind: "found", procedure, key: procedure.secret };
    }
  }
  const categoryWide = runbook.procedures.filter((p) => p.applies_to_category);
  for (const procedure of categoryWide) {
    const keys = entries.filter((e) => e.category === procedure.category).map((e) => e.key);
    if (keys.includes(name)) return { kind: "found", procedure, key: name };
    if (name === procedure.id || procedure.aliases.includes(name)) {
      if (keys.length === 1) return { kind: "found", procedure, key: keys[0]! };
      return { kind: "ambiguous", procedure, keys };
    }
  }
  return { kind: "unknown", name: typed, known: knownNames(runbook, entries) };
}

/** Every name `/rotate` accepts, short aliases first. */
export function knownNames(runbook: Runbook, entries: readonly ManifestEntry[]): string[] {
  const aliases = runbook.procedures.flatMap((p) => p.aliases);
  const keys = runbook.procedures.flatMap((p) =>
    p.secret !== undefined ? [p.secret] : entries.filter((e) => e.category === p.category).map((e) => e.key),
  );
  return [...new Set([...aliases, ...keys])];
}
