import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findProcedure } from "../../../src/runbook/find-procedure.js";
import { loadRunbook, parseRunbook } from "../../../src/runbook/load-runbook.js";
import type { ManifestEntry } from "../../../src/manifest/read-manifest.js";
import { ALIAS_BOMB } from "../../support/hostile-yaml.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const shippedText = readFileSync(SHIPPED_RUNBOOK, "utf8");
const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
const runbook = loaded.runbook;
const procedure = (id: string) => runbook.procedures.find((p) => p.id === id) ?? expect.fail(`no procedure ${id}`);
const entry = (key: string, category: string): ManifestEntry => ({
  key,
  category,
  owner: null,
  lastRotation: null,
  rotateEvery: null,
  description: null,
  line: 1,
});

describe("shipped runbook", () => {
  it("has exactly the seed's frequencies", () => {
    const every = Object.fromEntries(Object.entries(runbook.policies).map(([k, p]) => [k, p.every]));
    expect(every).toEqual({
      api_token: "6 months",
      database_password: "12 months",
      signalwire_pat: "12 months",
      telegram_bot_token: "12 months",
      sentry_dsn: null,
      nats_password: null,
    });
    expect(runbook.policies.api_token!.also_on).toEqual(["suspected compromise"]);
    expect(runbook.policies.telegram_bot_token!.also_on).toEqual(["suspected compromise"]);
    expect(runbook.policies.sentry_dsn!.only_when).toMatch(/organization policy/);
  });

  it("names the seed's canonical files", () => {
    expect(runbook.files).toEqual({
      vault: "infra/group_vars/all/vault.yml",
      manifest: "infra/group_vars/all/_secrets_manifest.yml",
      changelog: "CHANGELOG.md",
      helper_runbook: "secret-rotation.md",
    });
  });

  it("has a procedure for every secret in the seed, reachable by alias and by vault key", () => {
    const cases: [string, string][] = [
      ["telegram", "vault_telegram_bot_token"],
      ["nats", "vault_nats_password"],
      ["postgres", "vault_postgres_app_password"],
      ["signalwire", "vault_signalwire_token"],
      ["sentry", "vault_sentry_dsn"],
      ["vault_nats_password", "vault_nats_password"],
    ];
    for (const [typed, key] of cases)
      expect(findProcedure(runbook, [], typed), typed).toMatchObject({ kind: "found", key });
  });

  it("resolves API tokens through the general procedure, asking which one when there are several", () => {
    const entries = [entry("vault_billing_api_token", "api_token"), entry("vault_reports_api_token", "api_token")];
    expect(findProcedure(runbook, entries, "api-token")).toMatchObject({
      kind: "ambiguous",
      keys: ["vault_billing_api_token", "vault_reports_api_token"],
    });
    expect(findProcedure(runbook, entries, "vault_reports_api_token")).toMatchObject({
      kind: "found",
      key: "vault_reports_api_token",
      procedure: { id: "api-token" },
    });
    expect(findProcedure(runbook, entries.slice(0, 1), "api")).toMatchObject({
      kind: "found",
      key: "vault_billing_api_token",
    });
    const unknown = findProcedure(runbook, entries, "ldap");
    expect(unknown.kind).toBe("unknown");
    expect(unknown.kind === "unknown" && unknown.known).toEqual(
      expect.arrayContaining(["telegram", "nats", "vault_billing_api_token"]),
    );
  });

  it("matches names exactly but for ASCII case: look-alike characters resolve to nothing, naming the character", () => {
    const entries = [entry("vault_quick_token", "api_token")];
    expect(findProcedure(runbook, entries, "VAULT_QUICK_TOKEN")).toMatchObject({
      kind: "found",
      key: "vault_quick_token",
    });
    for (const [typed, code] of [
      ["vault_quic\u212A_token", "U+212A"], // KELVIN SIGN: lowercases to "k"
      ["ｎａｔｓ", "U+FF4E"], // fullwidth: NFKC makes it "nats"
      ["n\u0430ts", "U+0430"], // CYRILLIC SMALL LETTER A
      ["na\u200Bts", "U+200B"], // ZERO WIDTH SPACE
      ["nat\u017F", "U+017F"], // LATIN SMALL LETTER LONG S: uppercases to "S"
    ] as const) {
      const found = findProcedure(runbook, entries, typed);
      expect(found, typed).toMatchObject({
        kind: "unknown",
        lookalike: expect.stringContaining(`it holds ${code}, which is not a plain ASCII letter`) as string,
      });
    }
  });

  it("keeps the seed's commands verbatim, with the inventory and the password file as placeholders", () => {
    // The seed knows staging only: {inventory} is staging's inventory in the shipped environments.
    expect(runbook.environments).toEqual([{ name: "staging", inventory: "infra/inventory/staging.yml", env: {} }]);
    const deploy = procedure("signalwire").steps.find((s) => s.id === "deploy_signaling");
    expect(deploy).toMatchObject({
      kind: "run",
      argv: [
        "ansible-playbook",
        "-i",
        "{inventory}",
        "infra/playbooks/deploy_signaling.yml",
        "--vault-password-file",
        "{vault_password_file}",
        "--tags",
        "freeswitch",
      ],
    });
    // The seed's reload prints usage and exits 0 (nats-server 2.9.10): its text stays in `seed`,
    // the step runs nats-server --signal reload=1 in the container through ansible on the NATS host.
    const reload = (id: string, tag: string) => [
      "ansible-playbook",
      "-i",
      "{inventory}",
      "infra/playbooks/reload_nats.yml",
      "--vault-password-file",
      "{vault_password_file}",
      "--tags",
      tag,
    ];
    for (const id of ["reload", "reload_without_old"]) {
      expect(procedure("nats").steps.find((s) => s.id === id)).toMatchObject({
        kind: "nats_reload",
        config_test: reload(id, "config_test"),
        reload: reload(id, "reload"),
      });
    }
    expect(procedure("nats").steps.find((s) => s.id === "reload")).toMatchObject({
      seed: "docker exec nats nats-server -sl",
      note: expect.stringContaining("flag needs an argument: -sl") as string,
    });
    expect(procedure("nats").steps.find((s) => s.id === "verify_health")).toMatchObject({
      check: { builtin: "nats_stream_health", stream: "AKIRA_CDR", consumer: "cdr_worker" },
    });
    // The old user leaves NATS before the rename, while an abort can still put it back: nobody may
    // be on it first, and it must be refused after (issue 21, point 6).
    expect(
      procedure("nats")
        .steps.map((s) => s.id)
        .slice(-5),
    ).toEqual(["old_user_idle", "drop_old_from_config", "reload_without_old", "old_refused", "promote"]);
    expect(procedure("nats").steps.find((s) => s.id === "old_user_idle")).toMatchObject({
      check: { builtin: "nats_old_user_idle", user: "akira-{password_sha256_8}", plain_users: ["akira"] },
    });
    expect(
      procedure("nats")
        .rollback.map((s) => s.id)
        .slice(0, 3),
    ).toEqual(["config_with_both", "reload_with_both", "drop_new"]);
    expect(procedure("postgres").steps.find((s) => s.id === "alter_role")).toMatchObject({
      kind: "postgres_set_password",
      role: "akira_app",
      seed: "ALTER USER akira_app PASSWORD '<new-password>';",
    });
    expect(runbook.epilogue[0]).toMatchObject({
      kind: "run",
      before_each_gate: true,
      argv: [
        "ansible-playbook",
        "-i",
        "{inventory}",
        "infra/playbooks/smoketest.yml",
        "--vault-password-file",
        "{vault_password_file}",
      ],
    });
  });

  it("marks the destructive steps the seed describes (revoke, rename, remove old); ALTER USER is rolled back instead", () => {
    const destructive = (id: string) =>
      procedure(id)
        .steps.filter((s) => s.destructive)
        .map((s) => s.id);
    expect(destructive("signalwire")).toEqual(["revoke_old", "promote"]);
    // Until the old password leaves the vault, an abort sets the role back to it.
    expect(destructive("postgres")).toEqual(["promote"]);
    expect(procedure("postgres").rollback.map((s) => s.id)).toEqual([
      "restore_role",
      "drop_new",
      "redeploy_backend",
      "redeploy_workers",
    ]);
    expect(destructive("nats")).toEqual(["promote"]);
    // One token per bot: the outage starts when the operator revokes in BotFather, which only they can say;
    // confirming the outage ahead of it changes nothing, so Cancel stays true until "I revoked it".
    expect(destructive("telegram")).toEqual(["revoke", "promote"]);
    expect(procedure("telegram").steps.find((s) => s.id === "revoke")).toMatchObject({
      kind: "manual",
      done_label: "I revoked it",
    });
    expect(procedure("telegram").outage).toMatchObject({ from: "revoke", to: "deploy_notifications" });
    expect(destructive("sentry")).toEqual(["disable_old", "promote"]);
    expect(destructive("api-token")).toEqual(["promote"]);
  });

  it("ends every rotation with the completion checklist", () => {
    expect(runbook.epilogue.map((s) => s.kind)).toEqual([
      "run",
      "manifest_update",
      "changelog_update",
      "git_commit",
      "notify_owner",
    ]);
  });

  it("generates passwords of at least 24 characters", () => {
    expect(procedure("postgres").steps.find((s) => s.kind === "generate")).toMatchObject({ length: 32 });
  });
});

describe("runbook validation", () => {
  const broken = (from: string, to: string) => {
    expect(shippedText).toContain(from);
    return parseRunbook(shippedText.replace(from, to), "runbook.yml");
  };
  const lineOf = (needle: string) => shippedText.slice(0, shippedText.indexOf(needle)).split("\n").length;

  it("takes a deploy guard's settings as they are, and refuses what it could not run (placeholders, stdin)", () => {
    const guard = 'argv: [test, "!", -e, .deploy-in-progress]';
    const withEnv = broken(guard, `${guard}\n  env: {PIPELINE_URL: "https://ci.example/api"}`);
    expect(withEnv.ok && withEnv.runbook.deploy_guard?.env).toEqual({ PIPELINE_URL: "https://ci.example/api" });
    const placeholder = broken(guard, 'argv: [check-deploys, --infra, "{infra_dir}"]');
    expect(!placeholder.ok && placeholder.problems.join("\n")).toMatch(
      /deploy_guard\.argv: .*takes no \{placeholders\}/,
    );
    const stdin = broken(guard, `${guard}\n  stdin: "{new_value}"`);
    expect(!stdin.ok && stdin.problems.join("\n")).toMatch(/deploy_guard.*stdin/);
  });

  it("refuses a secret value in argv, naming file, line and field", () => {
    const result = broken("--tags, freeswitch]", '--tags, freeswitch, "--token={new_value}"]');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^runbook\\.yml:${lineOf("--tags, freeswitch]")}: procedures\\[0\\]\\.steps\\[2\\]\\.argv\\[8\\]: \\{new_value\\} is a secret value`,
        ),
      ),
    ]);
  });

  it("refuses an unknown step kind and an unknown placeholder", () => {
    const kind = broken(
      "kind: vault_promote\n        title: Rename the new vault key to vault_signalwire_token",
      "kind: vault_rename\n        title: x",
    );
    expect(!kind.ok && kind.problems[0]).toMatch(/procedures\[0\]\.steps\[6\]\.kind/);
    const placeholder = broken('"{vault_password_file}", --tags, freeswitch]', '"{vault_pass}", --tags, freeswitch]');
    expect(!placeholder.ok && placeholder.problems[0]).toMatch(/unknown placeholder \{vault_pass\}/);
  });

  it("refuses a policy interval that is not one, a duplicate alias and a category without policy", () => {
    const interval = broken("every: 6 months", "every: half a year");
    expect(!interval.ok && interval.problems[0]).toMatch(
      new RegExp(`^runbook\\.yml:${lineOf("every: 6 months")}: policies\\.api_token\\.every`),
    );
    const alias = broken("aliases: [nats]", "aliases: [nats, telegram]");
    expect(!alias.ok && alias.problems.join()).toMatch(/"telegram" already names procedure/);
    const category = broken("category: nats_password", "category: nats_pw");
    expect(!category.ok && category.problems.join()).toMatch(/category "nats_pw" has no entry under policies/);
  });

  it("keeps every duration in the runbook between 1s and 24h", () => {
    for (const bad of ["0s", "999ms", "25h", "2147484h"]) {
      const result = broken("timeout: 20m", `timeout: ${bad}`);
      expect(!result.ok && result.problems, bad).toEqual([
        expect.stringMatching(
          new RegExp(
            `^runbook\\.yml:${lineOf("timeout: 20m")}: .*timeout: ${bad} is out of range: write a duration between 1s and 24h`,
          ),
        ),
      ]);
    }
    expect(broken("timeout: 20m", "timeout: 24h").ok).toBe(true);
  });

  // Issue 25, points 2 and 4: what a reviewer reading a runbook diff should not have to spot.
  const environments = "environments:\n  - name: staging\n    inventory: infra/inventory/staging.yml\n";
  const withEnvironments = (yaml: string) => broken(environments, `environments:\n${yaml}`);
  const envLine = lineOf(environments);

  it("refuses two environments on the same inventory, naming file, line and the fix", () => {
    const same = withEnvironments(
      "  - name: staging\n    inventory: infra/inventory/staging.yml\n  - name: production\n    inventory: infra/inventory/./staging.yml\n",
    );
    expect(!same.ok && same.problems).toEqual([
      `runbook.yml:${envLine + 4}: environments[1].inventory: production uses the same inventory as staging, so a rotation would roll out to those hosts twice and never to the other environment's before revoking the old value: give each environment its own inventory`,
    ]);
  });

  it("refuses an inventory outside the infra checkout, or a host list, with the fix", () => {
    for (const outside of ["../../../etc/hostname", "/etc/ansible/hosts", "infra/../../elsewhere.yml", "~/inv.yml"]) {
      const result = withEnvironments(`  - name: staging\n    inventory: ${outside}\n`);
      expect(!result.ok && result.problems, outside).toEqual([
        `runbook.yml:${envLine + 2}: environments[0].inventory: ${outside} is outside the infra checkout, where nobody reviews it with the playbooks and the vault: write the path of its inventory file or folder relative to INFRA_DIR, such as infra/inventory/production.yml`,
      ]);
    }
    const hosts = withEnvironments("  - name: staging\n    inventory: 'db1,db2,'\n");
    expect(!hosts.ok && hosts.problems[0]).toMatch(/"db1,db2," is a host list, not an inventory of the infra checkout/);
    expect(withEnvironments("  - name: staging\n    inventory: infra/inventory/staging\n").ok).toBe(true);
  });

  it("refuses env variables that change how programs are found or loaded, in environments, the deploy guard and steps", () => {
    for (const name of [
      "PATH",
      "LD_PRELOAD",
      "LD_LIBRARY_PATH",
      "NODE_OPTIONS",
      "PYTHONPATH",
      "BASH_ENV",
      "GIT_SSH_COMMAND",
    ]) {
      const result = withEnvironments(
        `  - name: staging\n    inventory: infra/inventory/staging.yml\n    env: {${name}: /tmp/x}\n`,
      );
      expect(!result.ok && result.problems, name).toEqual([
        `runbook.yml:${envLine + 3}: environments[0].env.${name}: ${name} changes which programs run or what they load: a runbook may not set it. Set it for the rotabot service on the ops host (the unit's environment, or .env), where its admin sees it`,
      ]);
    }
    const ansible = withEnvironments(
      "  - name: staging\n    inventory: infra/inventory/staging.yml\n    env: {ANSIBLE_CALLBACK_PLUGINS: /tmp/cb}\n",
    );
    expect(!ansible.ok && ansible.problems[0]).toMatch(
      /environments\[0\]\.env\.ANSIBLE_CALLBACK_PLUGINS: ANSIBLE_CALLBACK_PLUGINS is an ansible setting: put it in the infra checkout's ansible\.cfg/,
    );
    const guard = 'argv: [test, "!", -e, .deploy-in-progress]';
    const guardEnv = broken(guard, `${guard}\n  env: {LD_PRELOAD: /tmp/evil.so}`);
    expect(!guardEnv.ok && guardEnv.problems[0]).toMatch(
      /deploy_guard\.env\.LD_PRELOAD: LD_PRELOAD changes which programs run/,
    );
    const stepEnv = broken(
      "--tags, freeswitch]\n        idempotent: true",
      "--tags, freeswitch]\n        env: {PYTHONPATH: /tmp}\n        idempotent: true",
    );
    expect(!stepEnv.ok && stepEnv.problems[0]).toMatch(
      /procedures\[0\]\.steps\[2\]\.env\.PYTHONPATH: PYTHONPATH changes/,
    );
    // What an environment's env is for stays allowed.
    expect(
      withEnvironments(
        "  - name: staging\n    inventory: infra/inventory/staging.yml\n    env: {PGHOST: db1, PGSSLMODE: verify-full, NATS_CA: /etc/ssl/ca.pem}\n",
      ).ok,
    ).toBe(true);
  });

  it("refuses generated passwords shorter than 24 characters and YAML syntax errors", () => {
    const short = broken(
      "length: 32\n        alphabet: alphanumeric\n      - id: add_new\n        kind: vault_add_new\n        title: Add vault_postgres",
      "length: 12\n        alphabet: alphanumeric\n      - id: add_new\n        kind: vault_add_new\n        title: Add vault_postgres",
    );
    expect(!short.ok && short.problems[0]).toMatch(/at least 24 characters/);
    const syntax = parseRunbook("version: 1\npolicies: [\n", "r.yml");
    expect(!syntax.ok && syntax.problems[0]).toMatch(/^r\.yml:\d+: YAML syntax error/);
  });
});

describe("hostile runbook text", () => {
  it("answers an alias bomb with one problem instead of throwing", () => {
    const result = parseRunbook(ALIAS_BOMB, "bomb.yml");
    expect(result).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^bomb\.yml: YAML aliases \(\*name\) expand to too much data/)],
    });
  });

  it("reports deep nesting as one syntax error, and caps a long list of problems", () => {
    const deep = parseRunbook("[".repeat(100_000), "deep.yml");
    expect(deep.ok === false && deep.problems).toEqual([
      expect.stringMatching(/^deep\.yml:1: YAML syntax error: .* \(and \d+ more\)$/),
    ]);
    const policies = Array.from({ length: 100 }, (_, i) => `  p${i}: {every: nope}`).join("\n");
    const many = parseRunbook(`version: 1\npolicies:\n${policies}\n`, "m.yml");
    expect(many.ok === false && many.problems.length).toBe(21);
    expect(many.ok === false && many.problems[20]).toMatch(/^m\.yml: and \d+ more problems$/);
  });
});
