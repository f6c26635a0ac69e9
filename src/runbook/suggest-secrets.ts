import type { ManifestEntry } from "../manifest/read-manifest.js";
import type { Runbook } from "./runbook-schema.js";

/** A secret `/rotate` can start, with every name it answers to (its key, its procedure's id and aliases). */
export interface RotatableSecret {
  key: string;
  names: string[];
}

/** Every secret some procedure rotates: a procedure's own secret, or each manifest key of its category. */
export function rotatableSecrets(runbook: Runbook, entries: readonly ManifestEntry[]): RotatableSecret[] {
  return runbook.procedures.flatMap((p) => {
    const keys =
      p.secret !== undefined ? [p.secret] : entries.filter((e) => e.category === p.category).map((e) => e.key);
    return keys.map((key) => ({ key, names: [key, p.id, ...p.aliases] }));
  });
}

/** How far apart two names are: 0 when one contains the other (3 letters or more), up to 1 (nothing in common). */
function distance(typed: string, name: string): number {
  if (Math.min(typed.length, name.length) >= 3 && (name.includes(typed) || typed.includes(name))) return 0;
  let row = Array.from({ length: name.length + 1 }, (_, j) => j);
  for (let i = 1; i <= typed.length; i++) {
    const next = [i];
    for (let j = 1; j <= name.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (typed[i - 1] === name[j - 1] ? 0 : 1));
    row = next;
  }
  return row[name.length]! / Math.max(typed.length, name.length);
}

/** Names this far apart or closer count as a likely typo. */
const CLOSE = 0.4;

/** The keys of the few secrets whose names are closest to what was typed; none when nothing is close. */
export function closestSecrets(typed: string, secrets: readonly RotatableSecret[], max = 3): string[] {
  const wanted = typed.trim().toLowerCase();
  return secrets
    .map((s) => ({ key: s.key, score: Math.min(...s.names.map((n) => distance(wanted, n.toLowerCase()))) }))
    .filter((s) => s.score <= CLOSE)
    .sort((a, b) => a.score - b.score || a.key.localeCompare(b.key))
    .slice(0, max)
    .map((s) => s.key);
}
