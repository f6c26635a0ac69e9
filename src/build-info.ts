import { readFileSync } from "node:fs";
import path from "node:path";

/** What `rotabot --version` says: the package version and the commit it was built from. */
export interface BuildInfo {
  version: string;
  /** Full git commit id, or "unknown" (no build info, a build outside git, or a stale file). */
  commit: string;
  /** The build differs from `commit` (uncommitted changes), or the commit is unknown. */
  dirty: boolean;
}

/**
 * Reads the version from the package's package.json and the commit from dist/build-info.json
 * (written by `npm run build`, scripts/write-build-info.mjs). A missing, unreadable or stale
 * build-info file (another version than package.json) gives commit "unknown"; never throws for it.
 */
export function readBuildInfo(packageRoot: string, readFile = (file: string) => readFileSync(file, "utf8")): BuildInfo {
  const { version } = JSON.parse(readFile(path.join(packageRoot, "package.json"))) as { version: string };
  try {
    const info = JSON.parse(readFile(path.join(packageRoot, "dist", "build-info.json"))) as Partial<BuildInfo>;
    if (info.version === version && typeof info.commit === "string" && /^[0-9a-f]{40}$/.test(info.commit)) {
      return { version, commit: info.commit, dirty: info.dirty === true };
    }
  } catch {
    // No build info (built with tsc alone) or a broken file: the commit is unknown.
  }
  return { version, commit: "unknown", dirty: true };
}

/** `0.1.0 (commit 1a2b3c4d5e6f)`, `0.1.0 (commit 1a2b3c4d5e6f, modified)` or `0.1.0 (commit unknown)`. */
export function formatVersion({ version, commit, dirty }: BuildInfo): string {
  if (commit === "unknown") return `${version} (commit unknown)`;
  return `${version} (commit ${commit.slice(0, 12)}${dirty ? ", modified" : ""})`;
}
