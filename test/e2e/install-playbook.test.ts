import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { makeRotationInfra } from "../support/rotation-fixture.js";
import { PROJECT_ROOT } from "../support/paths.js";

const USER = "rotabot-test";
const OPS = -1_005_000_001;
const AUDIT = -1_005_000_002;

let tg: FakeBotApi;
let prefix: string;
let infra: ReturnType<typeof makeRotationInfra>;
let varsFile: string;
let secrets: string[];

const installed = (p: string) => path.join(prefix, p);
const playbook = (...extra: string[]) =>
  execa(
    "ansible-playbook",
    [
      "-i",
      "localhost,",
      "-c",
      "local",
      path.join(PROJECT_ROOT, "deploy/ansible/install.yml"),
      "-e",
      "rotabot_hosts=localhost",
      "-e",
      `@${varsFile}`,
      ...extra,
    ],
    {
      reject: false,
      all: true,
      env: { ANSIBLE_NOCOLOR: "1", ANSIBLE_FORCE_COLOR: "0" },
    },
  );
const recap = (output: string) =>
  /localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)/.exec(output)?.slice(1).map(Number);
const userExists = () => execa("id", [USER], { reject: false }).then((r) => r.exitCode === 0);

beforeAll(async () => {
  await execa("userdel", [USER], { reject: false });
  await execa("groupdel", [USER], { reject: false });
  tg = await startFakeBotApi();
  const { id, token } = tg.addBot({ id: 5_000_001, username: "akira_rotabot" });
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [], bots: [id] });
  tg.addGroup({ id: AUDIT, title: "Akira Audit", type: "channel", members: [], bots: [id], adminBots: [id] });
  infra = makeRotationInfra();
  // The service user reads the runbook from the infra checkout it owns.
  copyFileSync(infra.env.RUNBOOK_FILE, path.join(infra.infraDir, "rotabot-runbook.yml"));
  infra.git("-c", "user.name=f", "-c", "user.email=f@x", "add", "rotabot-runbook.yml");
  infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qm", "runbook for rotabot");
  const vaultPassword = readFileSync(infra.env.VAULT_PASSWORD_FILE, "utf8").trim();
  secrets = [token, vaultPassword];
  prefix = mkdtempSync(path.join(tmpdir(), "rotabot-prefix-"));
  chmodSync(prefix, 0o755); // like / on a real host: the service user may pass through
  varsFile = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-vars-")), "vars.json");
  writeFileSync(
    varsFile,
    JSON.stringify({
      rotabot_prefix: prefix,
      rotabot_user: USER,
      rotabot_infra_dir: infra.infraDir,
      rotabot_manage_service: false,
      rotabot_telegram_api_root: tg.url,
      rotabot_ops_chat_id: OPS,
      rotabot_audit_chat_id: AUDIT,
      rotabot_operator_ids: [101, 102],
      rotabot_extra_env: { RUNBOOK_FILE: path.join(infra.infraDir, "rotabot-runbook.yml"), REMINDER_TIME: "08:30" },
      rotabot_npm_ci_args: ["--no-audit", "--no-fund", "--prefer-offline"],
      // In production these two come from the controller's vault.
      vault_rotabot_bot_token: token,
      vault_rotabot_vault_password: vaultPassword,
    }),
    { mode: 0o600 },
  );
});

afterAll(async () => {
  await tg?.close();
  await execa("userdel", [USER], { reject: false });
  await execa("groupdel", [USER], { reject: false });
});

describe("the install playbook", { timeout: 240_000 }, () => {
  it("refuses a Node.js older than rotabot needs, naming the fix", async () => {
    const run = await playbook("--check", "-e", "rotabot_node_min_version=99.0.0");
    expect(run.exitCode).not.toBe(0);
    expect(run.all).toContain("rotabot needs Node.js 99.0.0 or newer");
  });

  it("changes nothing in --check mode", async () => {
    const run = await playbook("--check");
    expect(run.all).toContain("changed=");
    expect(run.exitCode, run.all).toBe(0);
    expect(existsSync(installed("opt/rotabot"))).toBe(false);
    expect(await userExists()).toBe(false);
  });

  it("stops with a fix when the service user cannot write the infra checkout", async () => {
    const run = await playbook();
    expect(run.exitCode).not.toBe(0);
    expect(run.all).toContain(`chown -R ${USER}: ${infra.infraDir}`);
  });

  it("installs the package, user, folders, environment file and a unit that verifies, then passes rotabot doctor as the service user", async () => {
    execFileSync("chown", ["-R", `${USER}:`, infra.infraDir]);
    const run = await playbook();
    expect(run.exitCode, run.all).toBe(0);
    const report = run.all.slice(run.all.indexOf("Report rotabot doctor"));
    expect(report).toContain("✔ telegram bot: @akira_rotabot");
    expect(report).toContain(`✔ STATE_DIR: ${installed("var/lib/rotabot")} is writable`);
    expect(report).toContain("All checks passed.");

    const envFile = statSync(installed("etc/rotabot/rotabot.env"));
    expect([envFile.uid, envFile.mode & 0o777]).toEqual([0, 0o600]);
    expect(readFileSync(installed("etc/rotabot/rotabot.env"), "utf8")).toContain(`OPS_CHAT_ID=${OPS}\n`);
    expect(statSync(installed("etc/rotabot/vault-pass.txt")).mode & 0o777).toBe(0o400);
    expect(statSync(installed("var/lib/rotabot")).mode & 0o777).toBe(0o700);

    const unit = installed("etc/systemd/system/rotabot.service");
    expect(readFileSync(unit, "utf8")).toMatch(
      new RegExp(`^ExecStart=\\S+ ${installed("opt/rotabot")}/dist/src/main.js start$`, "m"),
    );
    await execa("systemd-analyze", ["verify", unit]);
    const security = await execa("systemd-analyze", ["security", "--offline=yes", "--threshold=20", unit], {
      reject: false,
      all: true,
    });
    expect(security.exitCode, security.all).toBe(0); // exposure at most 2.0 of 10 ("OK")

    const age = await execa(
      process.execPath,
      [installed("opt/rotabot/dist/src/main.js"), "age", "--infra", infra.infraDir, "--exit-zero"],
      { reject: false, env: { RUNBOOK_FILE: path.join(infra.infraDir, "rotabot-runbook.yml") } },
    );
    expect(age.exitCode, age.stderr).toBe(0);
    expect(age.stdout).toContain("vault_billing_api_token");

    for (const value of secrets) expect(run.all).not.toContain(value);
  });

  it("changes nothing when run again", async () => {
    const run = await playbook();
    expect(run.exitCode, run.all).toBe(0);
    expect(recap(run.all ?? "")?.[1]).toBe(0);
  });
});
