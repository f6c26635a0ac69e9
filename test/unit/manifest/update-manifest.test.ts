import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { createFileReplacer } from "../../../src/fs/replace-file.js";
import { setLastRotation } from "../../../src/manifest/update-manifest.js";

const MANIFEST = `# Rotation state of every secret
secrets_manifest:
  # billing
  vault_billing_api_token:
    category: api_token     # selects the runbook policy
    owner: "@billing-team"
    last_rotation: 2025-01-01   # set by rotabot
    custom: kept
  vault_reports_api_token:
    category: api_token
    owner:    "@reports-team"
  vault_quoted:
    last_rotation: "2024-05-05"
other_top_level: true   # kept
`;

function manifestFile(text: string) {
  const dir = mkdtempSync(path.join(tmpdir(), "manifest-"));
  const file = path.join(dir, "_secrets_manifest.yml");
  writeFileSync(file, text);
  const stateDir = mkdtempSync(path.join(tmpdir(), "state-"));
  return { dir, file, files: createFileReplacer({ stateDir, targets: [file] }) };
}
const set = (m: ReturnType<typeof manifestFile>, key: string, date = "2026-11-25", category = "api_token") =>
  setLastRotation(m.file, key, date, category, m.files);

describe("manifest last_rotation update", () => {
  it("changes only the date: the line's comment and every other line's spacing stay byte for byte", async () => {
    const m = manifestFile(MANIFEST);
    expect(await set(m, "vault_billing_api_token")).toEqual({ ok: true, added: false });
    expect(readFileSync(m.file, "utf8")).toBe(
      MANIFEST.replace("last_rotation: 2025-01-01   # set by rotabot", "last_rotation: 2026-11-25   # set by rotabot"),
    );
    expect(readdirSync(m.dir)).toEqual(["_secrets_manifest.yml"]);
  });

  it("keeps a quoted date quoted", async () => {
    const m = manifestFile(MANIFEST);
    await set(m, "vault_quoted");
    expect(readFileSync(m.file, "utf8")).toBe(MANIFEST.replace('"2024-05-05"', '"2026-11-25"'));
  });

  it("adds last_rotation to an entry without one, at the entry's indentation", async () => {
    const m = manifestFile(MANIFEST);
    expect(await set(m, "vault_reports_api_token")).toEqual({ ok: true, added: false });
    expect(readFileSync(m.file, "utf8")).toBe(
      MANIFEST.replace('"@reports-team"\n', '"@reports-team"\n    last_rotation: 2026-11-25\n'),
    );
  });

  it("adds a missing entry at the end of secrets_manifest, before the next top-level key", async () => {
    const m = manifestFile(MANIFEST);
    expect(await set(m, "vault_new_token")).toEqual({ ok: true, added: true });
    expect(readFileSync(m.file, "utf8")).toBe(
      MANIFEST.replace(
        '"2024-05-05"\n',
        '"2024-05-05"\n  vault_new_token:\n    category: api_token\n    last_rotation: 2026-11-25\n',
      ),
    );
  });

  it("writes nothing when the date is already set (a resumed rotation)", async () => {
    const m = manifestFile(MANIFEST.replace("2025-01-01", "2026-11-25"));
    const before = readFileSync(m.file, "utf8");
    expect(await set(m, "vault_billing_api_token")).toEqual({ ok: true, added: false });
    expect(readFileSync(m.file, "utf8")).toBe(before);
  });

  it("re-serializes a layout the line edit does not handle (flow mapping), keeping the data right", async () => {
    const m = manifestFile("secrets_manifest: {a: {category: api_token, last_rotation: 2020-01-01}}\n");
    await set(m, "a");
    expect(parseDocument(readFileSync(m.file, "utf8")).toJS()).toEqual({
      secrets_manifest: { a: { category: "api_token", last_rotation: "2026-11-25" } },
    });
  });

  it("refuses a manifest that is empty or not valid, and changes nothing", async () => {
    for (const text of ["", "secrets_manifest: [\n", "just text\n"]) {
      const m = manifestFile(text);
      expect(await set(m, "a")).toMatchObject({
        ok: false,
        reason: "unreadable",
        message: expect.stringContaining("set last_rotation of a to 2026-11-25 by hand") as string,
      });
      expect(readFileSync(m.file, "utf8")).toBe(text);
    }
  });
});
