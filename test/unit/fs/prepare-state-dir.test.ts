import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prepareStateDir, type StateDirCheck } from "../../../src/fs/prepare-state-dir.js";

const messageOf = (check: StateDirCheck) => (check.ok ? expect.fail("expected a refusal") : check.message);
const scratch = () => mkdtempSync(path.join(tmpdir(), "rotabot-state-"));

describe("prepareStateDir", () => {
  it("creates a missing STATE_DIR (mode 0700) and leaves nothing behind", () => {
    const dir = path.join(scratch(), "a", "state");
    expect(prepareStateDir(dir)).toEqual({ ok: true });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a file where STATE_DIR, a folder on its path, or a folder under it should be, naming it", () => {
    const root = scratch();
    const file = path.join(root, "state");
    writeFileSync(file, "");
    expect(prepareStateDir(file)).toMatchObject({
      ok: false,
      reason: "state_dir",
      message: `STATE_DIR=${file} cannot be used: it is a file, not a folder; move the file away, or set STATE_DIR to a folder the rotabot user can write (it holds the journals, locks and audit log)`,
    });
    expect(messageOf(prepareStateDir(path.join(file, "deeper")))).toMatch(
      /^STATE_DIR=\S+\/state\/deeper cannot be used: it has a file where a folder on its path should be; /,
    );
    const dir = path.join(root, "dir");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "rotations"), "");
    expect(messageOf(prepareStateDir(dir, { subfolders: ["locks", "rotations"] }))).toMatch(
      new RegExp(`^STATE_DIR=${dir} cannot be used: ${dir}/rotations is a file, not a folder;`),
    );
  });

  it("refuses a folder this user cannot write (even as root: sysfs takes no new folders)", () => {
    const message = messageOf(prepareStateDir("/sys/rotabot-state"));
    expect(message).toMatch(
      /^STATE_DIR=\/sys\/rotabot-state cannot be used: it (is not writable by this user|is on a read-only file system)/,
    );
    expect(message.split("\n")).toHaveLength(1);
  });

  it("only looks, for reading", () => {
    const dir = path.join(scratch(), "never-made");
    expect(prepareStateDir(dir, { access: "read" })).toEqual({ ok: true });
    expect(existsSync(dir)).toBe(false);
  });
});
