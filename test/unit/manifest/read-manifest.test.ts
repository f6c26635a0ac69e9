import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCalendarDate } from "../../../src/time/calendar-date.js";
import { parseManifest, readManifest } from "../../../src/manifest/read-manifest.js";

const rules = {
  categories: new Set(["api_token", "telegram_bot_token", "sentry_dsn"]),
  asOf: parseCalendarDate("2026-11-25")!,
};

describe("manifest reader", () => {
  it("reads the documented format and keeps going past bad entries, naming their lines", () => {
    const yaml = `# comment
secrets_manifest:
  vault_telegram_bot_token:
    category: telegram_bot_token   # selects the runbook policy
    owner: "@alerts-oncall"
    last_rotation: 2026-03-01
    rotate_every: 6 months
    description: Notification bot
    custom_field: kept by later rewrites
  vault_bad_date:
    category: api_token
    last_rotation: 2026-02-30
  vault_future:
    category: api_token
    last_rotation: 2027-01-01
  vault_unknown_category:
    category: password
  vault_bad_interval:
    category: api_token
    rotate_every: every now and then
  vault_missing_category:
    owner: "@x"
  vault_ok_api_token:
    category: api_token
`;
    const result = parseManifest(yaml, "manifest.yml", rules);
    if (!result.ok) throw new Error("expected a readable manifest");
    expect(result.entries.map((e) => e.key)).toEqual(["vault_telegram_bot_token", "vault_ok_api_token"]);
    expect(result.entries[0]).toMatchObject({
      category: "telegram_bot_token",
      owner: "@alerts-oncall",
      lastRotation: "2026-03-01",
      rotateEvery: { count: 6, unit: "month" },
      description: "Notification bot",
      line: 3,
    });
    expect(result.entries[1]).toMatchObject({ owner: null, lastRotation: null, rotateEvery: null });
    expect(result.problems.map((p) => [p.line, p.key])).toEqual([
      [12, "vault_bad_date"],
      [15, "vault_future"],
      [17, "vault_unknown_category"],
      [20, "vault_bad_interval"],
      [21, "vault_missing_category"],
    ]);
    expect(result.problems[0]!.message).toContain("write it as YYYY-MM-DD");
    expect(result.problems[1]!.message).toContain("in the future");
    expect(result.problems[2]!.message).toContain("use one of api_token, telegram_bot_token, sentry_dsn");
    expect(result.problems[3]!.message).toContain("N days|weeks|months|years");
  });

  it("treats an empty or null last_rotation as never rotated and a quoted date as a date", () => {
    const result = parseManifest(
      "secrets_manifest:\n  vault_a: {category: api_token, last_rotation: ~}\n  vault_b: {category: api_token, last_rotation: '2026-01-02'}\n",
      "m.yml",
      rules,
    );
    expect(result.ok && result.entries.map((e) => e.lastRotation)).toEqual([null, "2026-01-02"]);
  });

  it("refuses a file without secrets_manifest, with a hint", () => {
    const result = parseManifest("vault_a: {category: api_token}\n", "m.yml", rules);
    expect(result).toMatchObject({ ok: false, problems: [{ line: 1 }] });
    expect(result.problems[0]!.message).toContain("secrets_manifest:");
  });

  it("reports YAML syntax errors and duplicate keys with their line", () => {
    const broken = parseManifest("secrets_manifest:\n  vault_a: {category: api_token\n  vault_b: x\n", "m.yml", rules);
    expect(broken.ok).toBe(false);
    const duplicate = parseManifest(
      "secrets_manifest:\n  vault_a: {category: api_token}\n  vault_a: {category: api_token}\n",
      "m.yml",
      rules,
    );
    expect(duplicate).toMatchObject({ ok: false, problems: [{ line: 3 }] });
    expect(duplicate.problems[0]!.message).toBe(
      'duplicate key "vault_a" (first at line 2); keep one of them and run again',
    );
  });

  it("reports every duplicate key with its line: entries far apart, fields inside an entry, top-level keys", () => {
    const result = parseManifest(
      [
        "secrets_manifest:",
        "  vault_a: {category: api_token}",
        "  vault_b:",
        "    category: api_token",
        "    owner: '@x'",
        "    category: sentry_dsn",
        "  vault_c: {category: api_token}",
        "  vault_a: {category: api_token}",
        "secrets_manifest: {}",
        "",
      ].join("\n"),
      "m.yml",
      rules,
    );
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => [p.line, p.message.split(" (")[0]])).toEqual([
      [6, 'duplicate key "category"'],
      [8, 'duplicate key "vault_a"'],
      [9, 'duplicate key "secrets_manifest"'],
    ]);
  });

  it("keeps a number key and the same digits as a string apart, as YAML does", () => {
    const result = parseManifest("secrets_manifest:\n  vault_a: {category: api_token, 1: x, '1': y}\n", "m.yml", rules);
    expect(result.ok).toBe(true);
  });

  it("finds a duplicate thousands of entries after the first", () => {
    const entries = Array.from({ length: 5_000 }, (_, i) => `  vault_svc${i}_api_token: {category: api_token}\n`);
    const result = parseManifest(`secrets_manifest:\n${entries.join("")}  vault_svc7_api_token: {}\n`, "m.yml", rules);
    expect(result).toMatchObject({ ok: false, problems: [{ line: 5_002 }] });
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.message).toContain("(first at line 9)");
  });

  // No timing assertion (npm run bench times it); the timeout only allows for a loaded machine.
  it("reads a 50,000-entry manifest", { timeout: 180_000 }, () => {
    const entries = Array.from(
      { length: 50_000 },
      (_, i) =>
        `  vault_svc${i}_api_token:\n    category: api_token\n    last_rotation: 2026-01-02\n    rotate_every: 6 months\n`,
    );
    const result = parseManifest(`secrets_manifest:\n${entries.join("")}`, "m.yml", rules);
    expect(result.ok && result.entries.length).toBe(50_000);
    expect(result.ok && result.entries[49_999]).toMatchObject({ key: "vault_svc49999_api_token", line: 199_998 });
  });

  it("says what to do when the file is missing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "manifest-"));
    const missing = await readManifest(path.join(dir, "nope.yml"), rules);
    expect(missing.ok).toBe(false);
    expect(missing.problems[0]!.message).toMatch(/file not found: set INFRA_DIR/);
    writeFileSync(path.join(dir, "m.yml"), "secrets_manifest:\n  vault_a: {category: api_token}\n");
    expect((await readManifest(path.join(dir, "m.yml"), rules)).ok).toBe(true);
  });
});
