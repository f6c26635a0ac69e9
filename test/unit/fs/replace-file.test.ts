import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createFileReplacer } from "../../../src/fs/replace-file.js";

function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), "replace-"));
  const stateDir = mkdtempSync(path.join(tmpdir(), "state-"));
  const target = path.join(dir, "CHANGELOG.md");
  writeFileSync(target, "old\n");
  chmodSync(target, 0o640);
  return { dir, stateDir, target };
}
/** A pid that was alive a moment ago and is not now. */
const deadPid = () => spawnSync("true").pid;

describe("atomic file replacement", () => {
  it("writes the temp file in STATE_DIR (same file system), keeps the mode, leaves nothing behind", async () => {
    const { dir, stateDir, target } = setup();
    const files = createFileReplacer({ stateDir });
    let temp = "";
    await files.replaceWith(target, "changelog", (t) => {
      temp = t;
      writeFileSync(t, "new\n");
      return Promise.resolve({ ok: true });
    });
    expect(path.dirname(temp)).toBe(path.join(stateDir, "tmp"));
    expect(readFileSync(target, "utf8")).toBe("new\n");
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(["CHANGELOG.md"]);
    expect(readdirSync(path.join(stateDir, "tmp"))).toEqual([]);
  });

  it("leaves the target as it was, and no temp file, when producing the new content fails", async () => {
    const { stateDir, target } = setup();
    const files = createFileReplacer({ stateDir });
    const result = await files.replaceWith(target, "vault", (t) => {
      writeFileSync(t, "half");
      return Promise.resolve({ ok: false as const });
    });
    expect(result).toEqual({ ok: false });
    expect(readFileSync(target, "utf8")).toBe("old\n");
    expect(readdirSync(path.join(stateDir, "tmp"))).toEqual([]);
  });

  it("follows a symlinked target instead of replacing the link", async () => {
    const { dir, stateDir, target } = setup();
    const link = path.join(dir, "link.md");
    symlinkSync(target, link);
    await createFileReplacer({ stateDir }).write(link, "changelog", "via link\n");
    expect(readFileSync(target, "utf8")).toBe("via link\n");
  });

  it("sweeps temp files whose writer is gone, beside the targets and in STATE_DIR; a live writer's stay", async () => {
    const { dir, stateDir, target } = setup();
    const manifest = path.join(dir, "_secrets_manifest.yml");
    writeFileSync(manifest, "secrets_manifest: {}\n");
    mkdirSync(path.join(stateDir, "tmp"));
    const dead = deadPid();
    const names = {
      deadBeside: `.CHANGELOG.md.rotabot-${dead}-kx1-0123abcd.tmp`,
      liveBeside: `.CHANGELOG.md.rotabot-${process.pid}-mine-0123abcd.tmp`,
      // This pid, another process token: a process before this one had the pid (a container's pid 1).
      earlierSamePid: `.CHANGELOG.md.rotabot-${process.pid}-earlier-0123abcd.tmp`,
      olderVersion: ".vault.yml.rotabot-89abcdef.tmp",
      manifestLegacy: "_secrets_manifest.yml.1a2b3c4d.tmp",
      unrelated: "notes.tmp",
    };
    for (const name of Object.values(names)) writeFileSync(path.join(dir, name), "x");
    writeFileSync(path.join(stateDir, "tmp", `vault.yml.rotabot-${dead}-kx1-0123abcd.tmp`), "x");
    const files = createFileReplacer({
      stateDir,
      targets: [target, manifest, path.join(dir, "vault.yml")],
      processToken: "mine",
    });
    const removed = await files.sweepTemps();
    expect(removed.map((f) => path.basename(f)).sort()).toEqual(
      [
        `vault.yml.rotabot-${dead}-kx1-0123abcd.tmp`,
        names.deadBeside,
        names.earlierSamePid,
        names.olderVersion,
        names.manifestLegacy,
      ].sort(),
    );
    expect(readdirSync(dir).sort()).toEqual(
      ["CHANGELOG.md", "_secrets_manifest.yml", names.liveBeside, names.unrelated].sort(),
    );
    // Far older than any write takes: removed whoever holds that pid now.
    const later = createFileReplacer({
      stateDir,
      targets: [target],
      processToken: "mine",
      now: () => Date.now() + 11 * 60_000,
    });
    expect(await later.sweepTemps()).toEqual([path.join(dir, names.liveBeside)]);
    expect(existsSync(path.join(dir, names.unrelated))).toBe(true);
  });
});
