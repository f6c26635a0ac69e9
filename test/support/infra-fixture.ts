import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** A day relative to today (UTC) as YYYY-MM-DD, computed with plain Date arithmetic. */
export function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

/** A throwaway infra checkout holding only the manifest text given. */
export function makeInfraDir(manifestYaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-infra-"));
  mkdirSync(path.join(dir, "infra/group_vars/all"), { recursive: true });
  writeFileSync(path.join(dir, "infra/group_vars/all/_secrets_manifest.yml"), manifestYaml);
  return dir;
}
