import type { ManifestEntry } from "../manifest/read-manifest.js";
import type { Procedure, Runbook } from "./runbook-schema.js";

export type FindProcedureResult =
  | { kind: "found"; procedure: Procedure; key: string }
  | { kind: "ambiguous"; procedure: Procedure; keys: string[] }
  | { kind: "unknown"; name: string; known: string[] };

/**
 * Resolves what an operator typed (`telegram`, `vault_nats_password`, `api-token`) to a procedure
 * and the vault key it rotates. A category-wide procedure with several manifest keys is ambiguous.
 */
export function findProcedure(runbook: Runbook, entries: readonly ManifestEntry[], typed: string): FindProcedureResult {
  const name = typed.trim().toLowerCase();
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
