import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/paths.js";

/** systemd's ReadWritePaths bind-mounts INFRA_DIR and STATE_DIR: same device number, yet rename between them fails (EXDEV). */
const canBindMount = spawnSync("unshare", ["-m", "true"]).status === 0;

describe("atomic replacement across a bind mount (as under systemd's ReadWritePaths)", () => {
  it.skipIf(!canBindMount)("falls back to a temp beside the target and leaves nothing behind", () => {
    const infra = mkdtempSync(path.join(tmpdir(), "rotabot-bind-infra-"));
    const stateDir = mkdtempSync(path.join(tmpdir(), "rotabot-bind-state-"));
    const target = path.join(infra, "CHANGELOG.md");
    writeFileSync(target, "# Changelog\n");
    expect(statSync(infra).dev).toBe(statSync(stateDir).dev);
    // The source, through tsx: no build needed for an integration test.
    const replacer = path.join(PROJECT_ROOT, "src/fs/replace-file.ts");
    const script = `
      const { createFileReplacer } = await import(${JSON.stringify(replacer)});
      const files = createFileReplacer({ stateDir: ${JSON.stringify(stateDir)} });
      await files.write(${JSON.stringify(target)}, "changelog", "# Changelog\\n\\n- new\\n");
      await files.write(${JSON.stringify(target)}, "changelog", "# Changelog\\n\\n- newer\\n");`;
    const run = spawnSync(
      "unshare",
      [
        "-m",
        "sh",
        "-c",
        `mount --bind "$1" "$1" && exec "$2" --import tsx --input-type=module -e "$3"`,
        "sh",
        infra,
        process.execPath,
        script,
      ],
      { encoding: "utf8", cwd: PROJECT_ROOT },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(readFileSync(target, "utf8")).toBe("# Changelog\n\n- newer\n");
    expect(readdirSync(infra)).toEqual(["CHANGELOG.md"]);
    expect(readdirSync(path.join(stateDir, "tmp"))).toEqual([]);
  });
});
