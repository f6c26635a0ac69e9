import { readManifest, type ManifestProblem } from "../manifest/read-manifest.js";
import type { Policies } from "../runbook/policy-schema.js";
import { computeAgeReport, type AgeOptions, type AgeRow } from "./compute-age-report.js";

export interface AgeReport {
  rows: AgeRow[];
  /** Entries left out, or the reason nothing could be read when `readable` is false. */
  problems: ManifestProblem[];
  readable: boolean;
}

/** Reads the manifest fresh from disk and computes the report; the one path for shell and chat. */
export async function buildAgeReport(
  runbook: { policies: Policies },
  manifestFile: string,
  options: AgeOptions,
): Promise<AgeReport> {
  const manifest = await readManifest(manifestFile, {
    categories: new Set(Object.keys(runbook.policies)),
    asOf: options.asOf,
  });
  if (!manifest.ok) return { rows: [], problems: manifest.problems, readable: false };
  return { rows: computeAgeReport(runbook, manifest.entries, options), problems: manifest.problems, readable: true };
}

/** `file:line: message`, the form editors and terminals link to. */
export function formatProblem(problem: ManifestProblem): string {
  return `${problem.file}:${problem.line}: ${problem.message}`;
}
