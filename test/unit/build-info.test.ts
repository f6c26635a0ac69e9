import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatVersion, readBuildInfo } from "../../src/build-info.js";
import { PROJECT_ROOT } from "../support/paths.js";

const WRITE_BUILD_INFO = path.join(PROJECT_ROOT, "scripts/write-build-info.mjs");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";

/** A package folder with a package.json and, optionally, dist/build-info.json. */
function packageDir(buildInfo?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-build-info-"));
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "rotabot", version: "1.2.3" }));
  if (buildInfo !== undefined) {
    mkdirSync(path.join(dir, "dist"));
    writeFileSync(path.join(dir, "dist/build-info.json"), buildInfo);
  }
  return dir;
}

const git = (dir: string, ...args: string[]) =>
  execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@x", ...args], { encoding: "utf8" }).trim();
const writeBuildInfo = (dir: string) => {
  execFileSync(process.execPath, [WRITE_BUILD_INFO, dir]);
  return JSON.parse(readFileSync(path.join(dir, "dist/build-info.json"), "utf8")) as unknown;
};

describe("build info", () => {
  it("names the version and the commit, and says when the build is not exactly that commit", () => {
    const clean = readBuildInfo(packageDir(JSON.stringify({ version: "1.2.3", commit: COMMIT, dirty: false })));
    expect(formatVersion(clean)).toBe("1.2.3 (commit 0123456789ab)");
    const dirty = readBuildInfo(packageDir(JSON.stringify({ version: "1.2.3", commit: COMMIT, dirty: true })));
    expect(formatVersion(dirty)).toBe("1.2.3 (commit 0123456789ab, modified)");
  });

  it("falls back to an unknown commit for a missing, broken or stale build-info.json", () => {
    const unknown = { version: "1.2.3", commit: "unknown", dirty: true };
    expect(readBuildInfo(packageDir())).toEqual(unknown);
    expect(readBuildInfo(packageDir("{not json"))).toEqual(unknown);
    expect(readBuildInfo(packageDir(JSON.stringify({ version: "1.2.2", commit: COMMIT, dirty: false })))).toEqual(
      unknown,
    );
    expect(readBuildInfo(packageDir(JSON.stringify({ version: "1.2.3", commit: "HEAD" })))).toEqual(unknown);
    expect(formatVersion(unknown)).toBe("1.2.3 (commit unknown)");
  });

  it("is written by the build from git: the commit, then modified once the tree changes", () => {
    const dir = packageDir();
    git(dir, "init", "-q");
    git(dir, "add", "package.json");
    git(dir, "commit", "-qm", "release");
    const head = git(dir, "rev-parse", "HEAD");
    expect(writeBuildInfo(dir)).toEqual({ version: "1.2.3", commit: head, dirty: false });
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "rotabot", version: "1.2.3", x: 1 }));
    expect(writeBuildInfo(dir)).toEqual({ version: "1.2.3", commit: head, dirty: true });
  });

  it("is written with an unknown commit outside git (a source tarball)", () => {
    expect(writeBuildInfo(packageDir())).toEqual({ version: "1.2.3", commit: "unknown", dirty: true });
  });
});
