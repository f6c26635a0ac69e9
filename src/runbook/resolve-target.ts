import { readManifest, type ManifestEntry } from "../manifest/read-manifest.js";
import type { CalendarDate } from "../time/calendar-date.js";
import { findProcedure } from "./find-procedure.js";
import type { Procedure, Runbook } from "./runbook-schema.js";
import { closestSecrets, rotatableSecrets } from "./suggest-secrets.js";

/**
 * A secret named by an operator, resolved against the runbook and the manifest. Every kind but
 * `unreadable` carries the manifest's entries, for what the front end shows next (ages, owners).
 */
export type Target =
  | {
      kind: "found";
      procedure: Procedure;
      key: string;
      /** The secret's manifest entry (owner, last rotation), when it has one. */
      entry: ManifestEntry | undefined;
      entries: readonly ManifestEntry[];
    }
  /** A category-wide procedure with several keys: which one? */
  | { kind: "ambiguous"; procedure: Procedure; keys: string[]; entries: readonly ManifestEntry[] }
  | {
      kind: "unknown";
      name: string;
      /** Every name that would be found, short aliases first. */
      known: string[];
      /** The keys of the secrets whose names are closest to the typed one (a likely typo); none when nothing is close. */
      close: string[];
      /** Set when the name holds a character outside ASCII: which one, and that names are typed in ASCII. */
      lookalike?: string;
      entries: readonly ManifestEntry[];
    }
  /** The manifest cannot be read: nothing is resolved against a part of it. */
  | { kind: "unreadable"; problems: string };

/**
 * Finds the secret and its procedure from what an operator typed, the one way /rotate, /plan and
 * `rotabot rotate` do it. An unreadable manifest is a result of its own (see
 * {@link unreadableManifest}), never an empty list that makes every category-wide secret unknown.
 */
export async function resolveTarget(
  runbook: Runbook,
  manifestFile: string,
  typed: string,
  asOf: CalendarDate,
): Promise<Target> {
  const manifest = await readManifest(manifestFile, { categories: new Set(Object.keys(runbook.policies)), asOf });
  if (!manifest.ok)
    return {
      kind: "unreadable",
      problems: manifest.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("; "),
    };
  const { entries } = manifest;
  const found = findProcedure(runbook, entries, typed);
  if (found.kind === "found") return { ...found, entry: entries.find((e) => e.key === found.key), entries };
  if (found.kind === "ambiguous") return { ...found, entries };
  const close = typed.trim() === "" ? [] : closestSecrets(typed, rotatableSecrets(runbook, entries));
  return { ...found, close, entries };
}

/** What every front end says to an unreadable manifest: the problems, and the fix; `again` is how to ask once more. */
export function unreadableManifest(target: Extract<Target, { kind: "unreadable" }>, again: string): string {
  return `The manifest cannot be read: ${target.problems}. Fix it (rotabot age shows every problem) and ${again} again.`;
}
