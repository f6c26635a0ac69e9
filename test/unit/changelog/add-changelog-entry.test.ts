import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { addChangelogEntry, readChangelog } from "../../../src/changelog/add-changelog-entry.js";
import { createFileReplacer } from "../../../src/fs/replace-file.js";

const LINE = "- 2026-11-25: rotated `k` (rotation 20261125-1432-a3f9, by ops)";

function changelog(content: string | Buffer | undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), "changelog-"));
  const file = path.join(dir, "CHANGELOG.md");
  if (content !== undefined) writeFileSync(file, content);
  const files = createFileReplacer({ stateDir: mkdtempSync(path.join(tmpdir(), "state-")), targets: [file] });
  return { dir, file, add: () => addChangelogEntry(file, LINE, files), text: () => readFileSync(file, "utf8") };
}

describe("CHANGELOG entry", () => {
  it("adds the line under Unreleased / Security and keeps the history byte for byte (blank lines too)", async () => {
    const history = "# Changelog\n\nIntro.\n\n\n\n## [1.0.0]\n\n- first\n\n\n- odd spacing kept\n";
    const c = changelog(history);
    expect(await c.add()).toEqual({ ok: true, added: true });
    expect(c.text()).toBe(
      `# Changelog\n\nIntro.\n\n\n\n## [Unreleased]\n\n### Security\n${LINE}\n\n## [1.0.0]\n\n- first\n\n\n- odd spacing kept\n`,
    );
    expect(await c.add()).toEqual({ ok: true, added: false });
    expect(readdirSync(c.dir)).toEqual(["CHANGELOG.md"]);
  });

  it("creates a missing CHANGELOG.md with a title", async () => {
    const c = changelog(undefined);
    await c.add();
    expect(c.text()).toBe(`# Changelog\n\n## [Unreleased]\n\n### Security\n${LINE}\n`);
  });

  it("refuses to build on an empty, title-less or NUL-filled CHANGELOG.md, names the fix, changes nothing", async () => {
    const damaged: [string | Buffer, RegExp][] = [
      ["", /is empty \(0 bytes/],
      ["## [1.0.0]\n\n- first\n", /has no title line/],
      [Buffer.alloc(64), /holds NUL bytes/],
      [Buffer.from([0x23, 0x20, 0xff, 0xfe, 0x0a]), /is not valid UTF-8/],
    ];
    for (const [content, problem] of damaged) {
      const c = changelog(content);
      const result = await c.add();
      expect(result).toMatchObject({ ok: false, reason: "invalid_changelog" });
      expect(!result.ok && result.message).toMatch(problem);
      expect(!result.ok && result.message).toContain(`(cd ${c.dir} && git checkout -- CHANGELOG.md)`);
      expect(readFileSync(c.file)).toEqual(Buffer.from(content));
    }
  });

  it("accepts a setext title", async () => {
    expect(await readChangelog(changelog("Changelog\n=========\n\n- a\n").file)).toMatchObject({ ok: true });
  });

  it("replaces the file atomically: a writer killed before the rename leaves the old file whole", async () => {
    const c = changelog("# Changelog\n\n## [1.0.0]\n\n- first\n");
    const stateDir = mkdtempSync(path.join(tmpdir(), "state-"));
    const crashed = createFileReplacer({
      stateDir,
      crash: (point) => {
        if (point === "changelog:before-rename") throw new Error("killed");
      },
    });
    await expect(addChangelogEntry(c.file, LINE, crashed)).rejects.toThrow("killed");
    expect(c.text()).toBe("# Changelog\n\n## [1.0.0]\n\n- first\n");
    expect(existsSync(path.join(stateDir, "tmp"))).toBe(true);
  });
});
