import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { PROJECT_ROOT, SHIPPED_RUNBOOK } from "../support/paths.js";
import { makeRotationInfra } from "../support/rotation-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";
import { vaultFor } from "../support/vault-fixture.js";

interface Check {
  check: string;
  status: string;
  detail: string;
  fix?: string;
}
const doctor = async (env: Record<string, string>) => {
  const result = await runRotabot(["doctor", "--json"], env);
  return { code: result.code, checks: JSON.parse(result.stdout) as Check[] };
};
const statusOf = (checks: Check[], name: string) => checks.find((c) => c.check === name);

/** The sandbox's infra checkout (real playbooks) with an encrypted vault, for the shipped runbook. */
async function sandboxInfra() {
  const root = mkdtempSync(path.join(tmpdir(), "rotabot-doctor-"));
  const infraDir = path.join(root, "akira");
  cpSync(path.join(PROJECT_ROOT, "deploy/sandbox/infra"), infraDir, { recursive: true, verbatimSymlinks: true });
  const keys = [
    ["vault_signalwire_token", "signalwire_pat"],
    ["vault_postgres_app_password", "database_password"],
    ["vault_nats_password", "nats_password"],
    ["vault_telegram_bot_token", "telegram_bot_token"],
    ["vault_sentry_dsn", "sentry_dsn"],
    ["vault_billing_api_token", "api_token"],
  ];
  writeFileSync(
    path.join(infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
    `secrets_manifest:\n${keys.map(([k, c]) => `  ${k}: {category: ${c}}\n`).join("")}`,
  );
  const passwordFile = path.join(root, "vault-pass.txt");
  writeFileSync(passwordFile, "doctor-test-password\n", { mode: 0o600 });
  await execa(
    "ansible-vault",
    ["encrypt", "--vault-password-file", passwordFile, "--output", "infra/group_vars/all/vault.yml", "-"],
    { cwd: infraDir, input: keys.map(([k]) => `${k}: "value-of-${k}"\n`).join("") },
  );
  return {
    infraDir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: root,
      INFRA_DIR: infraDir,
      STATE_DIR: path.join(root, "state"),
      VAULT_PASSWORD_FILE: passwordFile,
      RUNBOOK_FILE: SHIPPED_RUNBOOK,
    },
  };
}

let tg: FakeBotApi;
beforeAll(async () => {
  tg = await startFakeBotApi();
});
afterAll(() => tg.close());

describe("rotabot doctor", { timeout: 60_000 }, () => {
  it("passes on a healthy infra checkout and bot, and names every check", async () => {
    const infra = makeRotationInfra();
    const { id, token } = tg.addBot({ id: 4_000_001, username: "doctor_ok_bot" });
    tg.addGroup({ id: -1004000001, title: "Ops", members: [], bots: [id], adminBots: [id] });
    tg.addGroup({ id: -1004000002, title: "Audit", type: "channel", members: [], bots: [id], adminBots: [id] });
    // The audit log's key, as the install role makes it (32 random bytes, hex).
    const auditKeyFile = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-key-")), "audit_key");
    writeFileSync(auditKeyFile, `${"5e".repeat(32)}\n`, { mode: 0o400 });
    const { code, checks } = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000001",
      AUDIT_CHAT_ID: "-1004000002",
      AUDIT_KEY_FILE: auditKeyFile,
    });
    expect(checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(statusOf(checks, "audit key")?.detail).toMatch(
      new RegExp(`^key [0-9a-f]{12} \\(${auditKeyFile}\\) signs the audit log$`),
    );
    expect(code).toBe(0);
    expect(checks.map((c) => c.check)).toEqual(
      expect.arrayContaining([
        "runbook",
        "tool ansible-vault",
        "tool git",
        "file bin/fixture-step.sh",
        "vault password file",
        "vault",
        "manifest",
        "STATE_DIR",
        "telegram bot",
        "ops chat",
        "ops chat rights",
        "audit chat",
      ]),
    );

    // Issue 14, item 6: rotate refuses a password file others can read, so doctor fails on it too.
    chmodSync(infra.env.VAULT_PASSWORD_FILE, 0o644);
    const loose = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000001",
      AUDIT_CHAT_ID: "-1004000002",
      AUDIT_KEY_FILE: auditKeyFile,
    });
    expect(loose.checks.filter((c) => c.status !== "ok")).toEqual([
      {
        check: "vault password file",
        status: "fail",
        detail: `the vault password file ${infra.env.VAULT_PASSWORD_FILE} is readable by other users: run chmod 600 ${infra.env.VAULT_PASSWORD_FILE}`,
        fix: "chmod 600 the file",
      },
    ]);
    expect(loose.code).toBe(1);
  });

  it(
    "lists every ansible-playbook step of the shipped runbook, refusing tags that select no task and hosts it cannot reach",
    { timeout: 240_000 },
    async () => {
      const infra = await sandboxInfra();
      const healthy = await doctor(infra.env);
      const playbooks = healthy.checks.filter((c) => c.check.startsWith("playbook "));
      expect(playbooks.filter((c) => c.status !== "ok")).toEqual([]);
      expect(statusOf(healthy.checks, "playbook infra/playbooks/reload_nats.yml --tags reload")).toMatchObject({
        status: "ok",
        detail:
          "selects 1 task on localhost (used by nats/reload, nats/reload_without_old, nats/reload_with_both, nats/reload_without_new)",
      });
      expect(playbooks.map((c) => c.check)).toEqual(
        expect.arrayContaining([
          "playbook infra/playbooks/reload_nats.yml --tags config_test",
          "playbook infra/playbooks/verify_signaling.yml --tags old_token_refused",
          "playbook infra/playbooks/rotate_api_token.yml --tags drop_old",
          "playbook infra/playbooks/rotate_api_token.yml --tags rollback",
          "playbook infra/playbooks/smoketest.yml",
        ]),
      );
      expect(statusOf(healthy.checks, "file secret-rotation.md")).toMatchObject({ status: "ok" });
      expect(statusOf(healthy.checks, "environments")).toEqual({
        check: "environments",
        status: "ok",
        detail: "staging: every inventory beside them is listed",
      });
      expect(statusOf(healthy.checks, "host localhost")).toMatchObject({
        status: "ok",
        detail: expect.stringContaining("ansible logs in and runs a module (infra/inventory/staging.yml;") as string,
      });

      // The infra's playbook names its tag differently from the runbook: a run would do nothing, exit 0.
      const reload = path.join(infra.infraDir, "infra/playbooks/reload_nats.yml");
      writeFileSync(reload, readFileSync(reload, "utf8").replace("tags: [reload]", "tags: [reload_now]"));
      // ...and a second NATS host that the user running rotabot cannot log in to.
      const inventory = path.join(infra.infraDir, "infra/inventory/staging.yml");
      writeFileSync(
        inventory,
        readFileSync(inventory, "utf8").replace(
          "        nats:\n          hosts:\n            localhost:\n",
          "        nats:\n          hosts:\n            localhost:\n            nats2: {ansible_host: 127.0.0.1, ansible_port: 9, ansible_user: rotabot}\n",
        ),
      );
      // ...and the seed's helper runbook gone (for people only: a warning)...
      unlinkSync(path.join(infra.infraDir, "secret-rotation.md"));
      // ...and production beside staging, which the shipped runbook does not roll out to.
      writeFileSync(path.join(infra.infraDir, "infra/inventory/production.yml"), "all:\n  hosts:\n    db1:\n");
      const broken = await doctor(infra.env);
      expect(broken.code).toBe(1);
      expect(statusOf(broken.checks, "file secret-rotation.md")).toEqual({
        check: "file secret-rotation.md",
        status: "warn",
        detail: "missing in INFRA_DIR (the helper runbook, files.helper_runbook)",
        fix: `add it to the infra checkout ${infra.infraDir}, or remove files.helper_runbook from the runbook`,
      });
      expect(statusOf(broken.checks, "environment infra/inventory/production.yml")).toEqual({
        check: "environment infra/inventory/production.yml",
        status: "fail",
        detail:
          "an inventory no environment lists (the runbook rolls out to staging only): the vault and the revokes are shared, so a rotation would leave it on a removed, revoked value",
        fix: 'add it to environments: in the runbook, in rollout order (docs/runbook.md, "Environments: staging, then production"), or move it out of infra/inventory if it does not use this vault',
      });
      expect(statusOf(broken.checks, "playbook infra/playbooks/reload_nats.yml --tags reload")).toEqual({
        check: "playbook infra/playbooks/reload_nats.yml --tags reload",
        status: "fail",
        detail:
          "selects no task (used by nats/reload, nats/reload_without_old, nats/reload_with_both, nats/reload_without_new)",
        fix: "--tags reload selects no task in infra/playbooks/reload_nats.yml: check the tag names (its tasks are tagged config_test, reload_now)",
      });
      expect(statusOf(broken.checks, "playbook infra/playbooks/reload_nats.yml --tags config_test")).toMatchObject({
        status: "ok",
        detail:
          "selects 1 task on localhost, nats2 (used by nats/reload, nats/reload_without_old, nats/reload_with_both, nats/reload_without_new)",
      });
      expect(statusOf(broken.checks, "host nats2")).toMatchObject({
        status: "fail",
        detail: expect.stringContaining("UNREACHABLE! Failed to connect to the host via ssh") as string,
        fix: expect.stringContaining("an SSH key in its HOME (~/.ssh) that the host accepts") as string,
      });
      expect(statusOf(broken.checks, "host localhost")).toMatchObject({ status: "ok" });
    },
  );

  // Issue 21, point 1 and issue 25, points 2 and 4: what rotate refuses on a real estate, doctor names.
  it("names rotabot's own token in the vault, an inventory folder no environment lists, unusable TLS settings and two environments on one inventory", async () => {
    const own = "7001234567:AAownTokenOfRotabot_0123456789abcdefXYZ";
    const infra = makeRotationInfra({ vault_ops_api_token: own });
    appendFileSync(
      path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
      "  vault_ops_api_token: {category: api_token}\n",
    );
    mkdirSync(path.join(infra.infraDir, "infra/inventory/production"), { recursive: true });
    writeFileSync(path.join(infra.infraDir, "infra/inventory/staging.yml"), "all:\n  hosts:\n    localhost:\n");
    writeFileSync(path.join(infra.infraDir, "infra/inventory/production/hosts.yml"), "all:\n  hosts:\n    db1:\n");
    // The fixture's procedure with a PostgreSQL check, in an environment whose CA file is not there.
    const runbook = path.join(infra.infraDir, "..", `${path.basename(infra.infraDir)}-runbook.yml`);
    const fixture = readFileSync(infra.env.RUNBOOK_FILE, "utf8");
    const withPostgres = fixture.replace(
      "      - {id: promote,",
      "      - {id: login, kind: verify, title: Log in, check: {builtin: postgres_login, role: akira_app, database: akira}}\n      - {id: promote,",
    );
    writeFileSync(
      runbook,
      `${withPostgres}environments:\n  - name: staging\n    inventory: infra/inventory/staging.yml\n    env: {PGSSLMODE: verify-full, PGSSLROOTCERT: /nonexistent/akira-ca.pem}\n`,
    );
    const { code, checks } = await doctor({ ...infra.env, RUNBOOK_FILE: runbook, BOT_TOKEN: own });
    expect(code).toBe(1);
    expect(statusOf(checks, "secret vault_ops_api_token")).toEqual({
      check: "secret vault_ops_api_token",
      status: "fail",
      detail:
        "vault_ops_api_token holds rotabot's own BOT_TOKEN: rotating it here would have you revoke the token rotabot runs on, and rotabot could not receive the new one",
      fix: "rotate rotabot's own token by its procedure, docs/deploy.md \"Rotating rotabot's own bot token\" (a shell, BotFather, the systemd credential); if the notification bot is meant to be another bot, give it its own token in the vault",
    });
    expect(statusOf(checks, "environment infra/inventory/production/")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(
        "an inventory no environment lists (the runbook rolls out to staging only)",
      ) as string,
    });
    expect(statusOf(checks, "environment staging PGSSLROOTCERT")).toEqual({
      check: "environment staging PGSSLROOTCERT",
      status: "fail",
      detail:
        "PGSSLROOTCERT=/nonexistent/akira-ca.pem (the CA certificate of the PostgreSQL server, from environments[staging].env) cannot be read",
      fix: "put the CA certificate of the PostgreSQL server at /nonexistent/akira-ca.pem on the ops host, readable by the user running rotabot, or fix PGSSLROOTCERT",
    });
    expect(JSON.stringify(checks)).not.toContain(own);

    writeFileSync(
      runbook,
      `${fixture}environments:\n  - {name: staging, inventory: infra/inventory/staging.yml}\n  - {name: production, inventory: infra/inventory/staging.yml}\n`,
    );
    const twice = await doctor({ ...infra.env, RUNBOOK_FILE: runbook });
    expect(twice.code).toBe(1);
    expect(statusOf(twice.checks, "runbook")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(
        /runbook\.yml:\d+: environments\[1\]\.inventory: production uses the same inventory as staging/,
      ) as string,
    });
  });

  it("fails with a fix for each problem: missing script, stray _new, manifest key not in vault, loose password file, bot not an admin of the audit channel", async () => {
    const infra = makeRotationInfra();
    unlinkSync(path.join(infra.infraDir, "bin/fixture-step.sh"));
    await vaultFor(infra.vaultFiles).addNew("vault_billing_api_token", "strayNewValue0123456789");
    chmodSync(infra.env.VAULT_PASSWORD_FILE, 0o644);
    appendFileSync(
      path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
      "  vault_missing_api_token: {category: api_token}\n",
    );
    const { id, token } = tg.addBot({ id: 4_000_002, username: "doctor_bad_bot" });
    tg.addGroup({ id: -1004000003, title: "Ops", members: [], bots: [id] });
    tg.addGroup({ id: -1004000004, title: "Audit", type: "channel", members: [], bots: [id] });
    const { code, checks } = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000003",
      AUDIT_CHAT_ID: "-1004000004",
    });
    expect(code).toBe(1);
    expect(statusOf(checks, "file bin/fixture-step.sh")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("add it to the infra checkout") as string,
    });
    expect(statusOf(checks, "secret vault_billing_api_token_new")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("resume or abort that rotation") as string,
    });
    expect(statusOf(checks, "secret vault_missing_api_token")).toMatchObject({
      status: "fail",
      detail: "in the manifest but not in the vault",
    });
    expect(statusOf(checks, "vault password file")).toMatchObject({ status: "fail", fix: "chmod 600 the file" });
    expect(statusOf(checks, "audit chat")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("administrator of the channel") as string,
    });
    // Not an admin of the ops group, privacy mode on: a pasted secret there goes unseen. Said plainly.
    expect(statusOf(checks, "ops chat rights")).toEqual({
      check: "ops chat rights",
      status: "warn",
      detail:
        "@doctor_bad_bot is not an administrator of the ops chat and Telegram's privacy mode is on, so it receives only commands, replies to it and mentions: a secret pasted there as a plain message is neither seen nor deleted, and nobody is told",
      fix: "make @doctor_bad_bot an administrator of the ops group with the right “Delete messages” (docs/deploy.md, step 2)",
    });
    // An administrator without "Delete messages" sees a pasted secret but cannot delete it.
    tg.setBotAdmin(-1004000003, id, { can_delete_messages: false });
    const seesOnly = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000003",
      AUDIT_CHAT_ID: "-1004000004",
    });
    expect(statusOf(seesOnly.checks, "ops chat rights")).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("may not delete them (an administrator without “Delete messages”)") as string,
    });
    tg.issueNewToken(Number(token.split(":")[0]));
    const revoked = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000003",
    });
    expect(statusOf(revoked.checks, "telegram bot")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("@BotFather") as string,
    });
  });

  it("names the new id and the setting to change when the ops group was upgraded to a supergroup", async () => {
    const infra = makeRotationInfra();
    const { id, token } = tg.addBot({ id: 4_000_003, username: "doctor_moved_bot" });
    tg.addGroup({ id: -4000005, title: "Ops", type: "group", members: [], bots: [id], adminBots: [id] });
    tg.migrateGroup(-4000005, -1004000005);
    const { code, checks } = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-4000005",
    });
    expect(code).toBe(1);
    expect(statusOf(checks, "ops chat")).toEqual({
      check: "ops chat",
      status: "fail",
      detail:
        "Telegram upgraded the ops chat (OPS_CHAT_ID=-4000005) to a supergroup with the new id -1004000005, so rotabot can no longer write to the old id",
      fix: "set OPS_CHAT_ID=-1004000005 in rotabot's settings (.env or the unit's EnvironmentFile) and restart rotabot (systemctl restart rotabot)",
    });
  });
});
