import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ALIAS_BOMB, MANIFEST_ALIAS_BOMB } from "../support/hostile-yaml.js";
import { makeInfraDir } from "../support/infra-fixture.js";
import { EXAMPLE_INFRA } from "../support/paths.js";
import { runRotabot, testEnv } from "../support/run-rotabot.js";

const env = testEnv({});

describe("rotabot age", () => {
  it("prints the bundled example as JSON with every status, and exits 1 because something is overdue", async () => {
    const { code, stdout } = await runRotabot(
      ["age", "--infra", EXAMPLE_INFRA, "--as-of", "2026-11-25", "--json"],
      env,
    );
    expect(code).toBe(1);
    const rows = JSON.parse(stdout) as Record<string, unknown>[];
    expect(new Set(rows.map((r) => r.status))).toEqual(
      new Set(["overdue", "never_rotated", "due_soon", "ok", "no_policy"]),
    );
    expect(rows.find((r) => r.key === "vault_telegram_bot_token")).toEqual({
      key: "vault_telegram_bot_token",
      category: "telegram_bot_token",
      owner: "@alerts-oncall",
      last_rotation: "2025-10-15",
      age_days: 406,
      policy: "12 months",
      due_on: "2026-10-15",
      days_left: -41,
      status: "overdue",
    });
    expect(rows.find((r) => r.key === "vault_sentry_dsn")).toMatchObject({
      last_rotation: null,
      age_days: null,
      policy: null,
      due_on: null,
      days_left: null,
      status: "no_policy",
    });
  });

  it("exits 0 when nothing is overdue or never rotated, and with --exit-zero", async () => {
    const infra = makeInfraDir(
      "secrets_manifest:\n  vault_x_api_token: {category: api_token, last_rotation: 2026-10-01}\n  vault_sentry_dsn: {category: sentry_dsn}\n",
    );
    const table = await runRotabot(["age", "--as-of", "2026-11-25"], { ...env, INFRA_DIR: infra });
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(
      /^STATUS\s+SECRET\s+LAST ROTATION\s+AGE\s+POLICY\s+DUE ON\s+WHEN\s+OWNER$/,
    );
    expect(table.stdout).toMatch(/ok\s+vault_x_api_token\s+2026-10-01\s+55d\s+6 months\s+2027-04-01\s+due in 127 days/);
    const forced = await runRotabot(["age", "--infra", EXAMPLE_INFRA, "--as-of", "2026-11-25", "--exit-zero"], env);
    expect(forced.code).toBe(0);
  });

  it("reads a manifest file directly and reports bad entries with line numbers, exit 2, the rest still reported", async () => {
    const file = path.join(makeInfraDir(""), "manifest.yml");
    writeFileSync(
      file,
      "secrets_manifest:\n  vault_a_api_token:\n    category: api_token\n    last_rotation: 2026-13-01\n  vault_b_api_token:\n    category: api_token\n    last_rotation: 2026-11-01\n",
    );
    const { code, stdout, stderr } = await runRotabot(
      ["age", "--manifest", file, "--as-of", "2026-11-25", "--json"],
      env,
    );
    expect(code).toBe(2);
    expect((JSON.parse(stdout) as { key: string }[]).map((r) => r.key)).toEqual(["vault_b_api_token"]);
    expect(stderr).toContain(
      `${file}:4: vault_a_api_token.last_rotation: "2026-13-01" is not a date; write it as YYYY-MM-DD`,
    );
  });

  it("exits 2 with a clear message for bad arguments, a missing manifest and a broken runbook", async () => {
    const badDate = await runRotabot(["age", "--infra", EXAMPLE_INFRA, "--as-of", "yesterday"], env);
    expect([badDate.code, badDate.stderr]).toEqual([
      2,
      expect.stringContaining('--as-of "yesterday" is not a date; write YYYY-MM-DD'),
    ]);
    const unknown = await runRotabot(["age", "--frobnicate"], env);
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      expect.stringMatching(/^rotabot age: unknown option "--frobnicate"\n/),
    ]);
    const noManifest = await runRotabot(["age"], env);
    expect([noManifest.code, noManifest.stderr]).toEqual([
      2,
      expect.stringContaining("pass --infra DIR or --manifest FILE, or set INFRA_DIR"),
    ]);
    const missing = await runRotabot(["age", "--infra", "/nonexistent"], env);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining("file not found: set INFRA_DIR")]);
    const runbook = path.join(makeInfraDir(""), "runbook.yml");
    writeFileSync(runbook, "version: 2\n");
    const broken = await runRotabot(["age", "--infra", EXAMPLE_INFRA], { ...env, RUNBOOK_FILE: runbook });
    expect([broken.code, broken.stderr]).toEqual([2, expect.stringContaining(`${runbook}:1: version:`)]);
  });

  it("answers a YAML alias bomb in the runbook or the manifest with exit 2 and no stack trace", async () => {
    const infra = makeInfraDir(MANIFEST_ALIAS_BOMB);
    const runbook = path.join(infra, "runbook.yml");
    writeFileSync(runbook, ALIAS_BOMB);
    const bombed = await runRotabot(["age", "--infra", EXAMPLE_INFRA], { ...env, RUNBOOK_FILE: runbook });
    expect([bombed.code, bombed.stdout]).toEqual([2, ""]);
    expect(bombed.stderr).toMatch(
      new RegExp(
        `^rotabot age: the runbook is not valid:\n  ${runbook}: YAML aliases \\(\\*name\\) expand to too much data[^\n]*\n$`,
      ),
    );
    // The manifest reader never expands an alias into an entry: it reports the entry and goes on.
    const manifest = await runRotabot(["age", "--infra", infra], env);
    expect(manifest.code).toBe(2);
    expect(manifest.stderr).not.toMatch(/Error|\n\s+at /);
    expect(manifest.stderr.split("\n").length).toBeLessThan(10);
  });

  it("refuses to start the bot without its settings, listing each", async () => {
    const { code, stderr } = await runRotabot(["start"], { ...env, OPS_CHAT_ID: "ops" });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /BOT_TOKEN is required[^]*OPS_CHAT_ID must be a Telegram id[^]*OPERATOR_IDS is required[^]*INFRA_DIR is required/,
    );
  });

  it("explains an unknown command", async () => {
    const { code, stderr } = await runRotabot(["rotat"], env);
    expect([code, stderr]).toEqual([
      2,
      'rotabot: unknown command "rotat". Commands: start, age, rotate, status, history, timeline, resume, abort, audit, doctor, preflight, sandbox. Run rotabot --help.\n',
    ]);
  });
});
