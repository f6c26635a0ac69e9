import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { makeRotationInfra } from "../support/rotation-fixture.js";
import { PROJECT_ROOT } from "../support/paths.js";

// A user of this run's own: other checkouts on the machine may run this test at the same time.
const USER = `rotabot-t${process.pid}`;
const OPS = -1_005_000_001;
const AUDIT = -1_005_000_002;
const BOT_ID = 5_000_001;
const PACKAGE_FILES = [
  "dist",
  "deploy",
  "package.json",
  "package-lock.json",
  "README.md",
  "CHANGELOG.md",
  ".env.example",
];

let tg: FakeBotApi;
let prefix: string;
let infra: ReturnType<typeof makeRotationInfra>;
let varsFile: string;
let secrets: string[];
/** The audit log's key the role made on the host (the later runs must keep it). */
let auditKey = "";
/** Node.js 24 from the npm registry, installed in the prefix as the ops host's node. */
let hostNode: string;
/** Three builds of rotabot, each a commit of its own: the releases deployed one after another. */
let releases: { dir: string; id: string; commit: string }[];

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
      // The host is this Debian machine: its python3, without the interpreter discovery of each run.
      "-e",
      "ansible_python_interpreter=/usr/bin/python3",
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
const currentRelease = () => readlinkSync(installed("opt/rotabot/current"));
const previousRelease = () => readlinkSync(installed("opt/rotabot/previous"));
const installedReleases = () => readdirSync(installed("opt/rotabot/releases")).sort();
const versionOfCurrent = () =>
  execFileSync(hostNode, [installed("opt/rotabot/current/dist/src/main.js"), "--version"], { encoding: "utf8" }).trim();
const doctorReport = (output: string) => output.slice(output.indexOf("Report rotabot doctor"));
/** Files under the prefix that hold a secret in clear (grep exits 1 when none does). */
const filesWithSecrets = async () => {
  const grep = await execa("grep", ["-rlF", ...secrets.flatMap((s) => ["-e", s]), prefix], { reject: false });
  return grep.stdout.split("\n").filter(Boolean);
};

/** The shell commands of step 2 in docs/deploy.md's "Rotating rotabot's own bot token". */
function shellProcedure(): string {
  const doc = readFileSync(path.join(PROJECT_ROOT, "docs/deploy.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Rotating rotabot's own bot token"));
  const block = /```sh\n([\s\S]*?)\n\s*```/.exec(section)?.[1];
  if (block === undefined) throw new Error("docs/deploy.md: no shell block under 'Rotating rotabot's own bot token'");
  return block.replace(/^ {3}/gm, "");
}

/** A build of this checkout as its own git commit, with dist/build-info.json from `npm run build`'s script. */
function makeRelease(label: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `rotabot-release-${label}-`));
  for (const file of [...PACKAGE_FILES, ".gitignore"])
    cpSync(path.join(PROJECT_ROOT, file), path.join(dir, file), { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, "-c", "user.name=release", "-c", "user.email=r@x", ...args], { encoding: "utf8" });
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", `release ${label}`);
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, "scripts/write-build-info.mjs"), dir]);
  const commit = git("rev-parse", "HEAD").trim();
  const { version } = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string };
  return { dir, id: `${version}-${commit.slice(0, 12)}`, commit };
}

beforeAll(async () => {
  await execa("userdel", [USER], { reject: false });
  await execa("groupdel", [USER], { reject: false });
  tg = await startFakeBotApi();
  const { id, token } = tg.addBot({ id: BOT_ID, username: "akira_rotabot" });
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
  // What the role installed before releases: files right in /opt/rotabot. The new role removes them.
  mkdirSync(installed("opt/rotabot/dist/src"), { recursive: true });
  writeFileSync(installed("opt/rotabot/dist/src/main.js"), "// rotabot before releases\n");

  hostNode = installed("usr/bin/node");
  mkdirSync(path.dirname(hostNode), { recursive: true });
  copyFileSync(
    execFileSync("bash", [path.join(PROJECT_ROOT, "scripts/install-node24.sh")], { encoding: "utf8" }).trim(),
    hostNode,
  );
  chmodSync(hostNode, 0o755);
  releases = ["a", "b", "c"].map(makeRelease);

  varsFile = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-vars-")), "vars.json");
  writeFileSync(
    varsFile,
    JSON.stringify({
      rotabot_prefix: prefix,
      rotabot_user: USER,
      rotabot_source_dir: releases[0]!.dir,
      rotabot_node_install: false, // no NodeSource here: the prefix's node stands for it
      rotabot_node_executable: hostNode,
      rotabot_keep_releases: 2,
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
  // The prefix holds a copy of Node.js and a node_modules per release: about 200 MB.
  if (prefix) rmSync(prefix, { recursive: true, force: true });
  for (const release of releases ?? []) rmSync(release.dir, { recursive: true, force: true });
});

describe("the install playbook", { timeout: 240_000 }, () => {
  it("may run npm ci --ignore-scripts on the host: no production dependency has an install script", () => {
    const lock = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript && !p.dev);
    expect(withScripts.map(([name]) => name)).toEqual([]);
  });

  it("refuses an end-of-life Node.js, naming the fix", async () => {
    const major = await playbook("--check", "-e", "rotabot_node_install=true", "-e", "rotabot_node_major=20");
    expect(major.exitCode).not.toBe(0);
    expect(major.all).toContain("rotabot_node_major: 20 names a Node.js line that is end of life since 2026-04-30");
    expect(major.all).toContain("Set rotabot_node_major: 24");

    // The host's own node, judged by the same table: here Node.js 24 as if its end had come.
    const host = await playbook("--check", "-e", '{"rotabot_node_end_of_life": {"24": "2026-01-01"}}');
    expect(host.exitCode).not.toBe(0);
    expect(host.all).toContain(`Node.js v24.21.0 at ${hostNode} on localhost is end of life since 2026-01-01`);
    expect(host.all).toContain("Fix: let the role install Node.js 24 (rotabot_node_install: true");
  });

  it("refuses a rollback with nothing to roll back to", async () => {
    const run = await playbook("--check", "-e", "rotabot_rollback=true");
    expect(run.exitCode).not.toBe(0);
    expect(run.all).toContain(`No previous release to roll back to in ${installed("opt/rotabot")}`);
  });

  it("changes nothing in --check mode", async () => {
    const run = await playbook("--check");
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).toContain(`A real run installs release ${releases[0]!.id}`);
    expect(existsSync(installed("opt/rotabot/releases"))).toBe(false);
    expect(existsSync(installed("etc/rotabot/credentials"))).toBe(false);
    expect(await userExists()).toBe(false);
  });

  it("stops with a fix when the service user cannot write the infra checkout", async () => {
    const run = await playbook();
    expect(run.exitCode).not.toBe(0);
    expect(run.all).toContain(`chown -R ${USER}: ${infra.infraDir}`);
  });

  it("installs a release, the user, folders, credentials and a unit that verifies, then passes rotabot doctor as the service user", async () => {
    execFileSync("chown", ["-R", `${USER}:`, infra.infraDir]);
    // The vault password in clear, where the role put it before credentials: removed now.
    writeFileSync(installed("etc/rotabot/vault-pass.txt"), `${secrets[1]}\n`, { mode: 0o400 });
    const run = await playbook();
    expect(run.exitCode, run.all).toBe(0);
    const report = doctorReport(run.all);
    expect(report).toContain("✔ telegram bot: @akira_rotabot");
    expect(report).toContain(`✔ STATE_DIR: ${installed("var/lib/rotabot")} is writable`);
    expect(report).toContain("All checks passed.");
    expect(report).toMatch(/✔ audit key: key [0-9a-f]{12} \(\/dev\/shm\/\S+\/audit_key\) signs the audit log/);

    // The release: its own folder, current pointing at it, the commit baked in.
    expect(installedReleases()).toEqual([releases[0]!.id]);
    expect(currentRelease()).toBe(`releases/${releases[0]!.id}`);
    expect(versionOfCurrent()).toBe(`0.1.0 (commit ${releases[0]!.commit.slice(0, 12)})`);
    expect(existsSync(installed("opt/rotabot/dist"))).toBe(false); // the unversioned layout is gone

    // Secrets: encrypted systemd credentials, root only; nothing in clear anywhere in the prefix.
    const credentials = installed("etc/rotabot/credentials");
    expect(statSync(credentials).mode & 0o777).toBe(0o700);
    expect(readdirSync(credentials).sort()).toEqual(["audit_key.cred", "bot_token.cred", "vault_password.cred"]);
    // The audit log's HMAC key: made on the host (never sent from the controller), root only.
    const auditKeyFile = path.join(credentials, "audit_key.cred");
    expect([statSync(auditKeyFile).uid, statSync(auditKeyFile).mode & 0o777]).toEqual([0, 0o400]);
    auditKey = (await execa("systemd-creds", ["decrypt", "--name=audit_key", auditKeyFile, "-"])).stdout;
    expect(auditKey).toMatch(/^[0-9a-f]{64}$/);
    for (const [name, value] of [
      ["bot_token", secrets[0]],
      ["vault_password", secrets[1]],
    ] as const) {
      const file = path.join(credentials, `${name}.cred`);
      expect([statSync(file).uid, statSync(file).mode & 0o777]).toEqual([0, 0o400]);
      const decrypted = await execa("systemd-creds", ["decrypt", `--name=${name}`, file, "-"]);
      expect(decrypted.stdout).toBe(value);
    }
    expect(existsSync(installed("etc/rotabot/vault-pass.txt"))).toBe(false);
    expect(await filesWithSecrets()).toEqual([]);
    expect(readdirSync("/dev/shm").filter((f) => f.endsWith(".rotabot-credentials"))).toEqual([]);

    const envFile = readFileSync(installed("etc/rotabot/rotabot.env"), "utf8");
    expect(envFile).toContain(`OPS_CHAT_ID=${OPS}\n`);
    expect(envFile).not.toMatch(/^(BOT_TOKEN|VAULT_PASSWORD_FILE)=/m);
    expect(statSync(installed("var/lib/rotabot")).mode & 0o777).toBe(0o700);

    const unit = installed("etc/systemd/system/rotabot.service");
    const unitText = readFileSync(unit, "utf8");
    expect(unitText).toMatch(
      new RegExp(
        `^ExecStart=${hostNode} --max-semi-space-size=1 ${installed("opt/rotabot")}/current/dist/src/main.js start$`,
        "m",
      ),
    );
    expect(unitText).toContain(`\nLoadCredentialEncrypted=bot_token:${credentials}/bot_token.cred\n`);
    expect(unitText).toContain(`\nLoadCredentialEncrypted=vault_password:${credentials}/vault_password.cred\n`);
    expect(unitText).toContain(`\nLoadCredentialEncrypted=audit_key:${credentials}/audit_key.cred\n`);
    await execa("systemd-analyze", ["verify", unit]);
    const security = await execa("systemd-analyze", ["security", "--offline=yes", "--threshold=18", unit], {
      reject: false,
      all: true,
    });
    expect(security.exitCode, security.all).toBe(0); // exposure at most 1.8 of 10

    const age = await execa(
      hostNode,
      [installed("opt/rotabot/current/dist/src/main.js"), "age", "--infra", infra.infraDir, "--exit-zero"],
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
    // The audit key is kept: a new one would leave the log's keyed lines unverifiable.
    const auditKeyFile = installed("etc/rotabot/credentials/audit_key.cred");
    expect((await execa("systemd-creds", ["decrypt", "--name=audit_key", auditKeyFile, "-"])).stdout).toBe(auditKey);
  });

  it("deploys the next release beside the first and switches current to it", async () => {
    const [first, second] = [releases[0]!, releases[1]!];
    const run = await playbook("-e", `rotabot_source_dir=${second.dir}`);
    expect(run.exitCode, run.all).toBe(0);
    expect(doctorReport(run.all)).toContain("All checks passed.");
    expect(installedReleases()).toEqual([first.id, second.id].sort());
    expect([currentRelease(), previousRelease()]).toEqual([`releases/${second.id}`, `releases/${first.id}`]);
    expect(versionOfCurrent()).toBe(`0.1.0 (commit ${second.commit.slice(0, 12)})`);
  });

  it("rolls back to the previous release with one variable", async () => {
    const [first, second] = [releases[0]!, releases[1]!];
    const run = await playbook("-e", "rotabot_rollback=true");
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).not.toContain("npm ci");
    expect(doctorReport(run.all)).toContain("All checks passed.");
    expect([currentRelease(), previousRelease()]).toEqual([`releases/${first.id}`, `releases/${second.id}`]);
    expect(versionOfCurrent()).toBe(`0.1.0 (commit ${first.commit.slice(0, 12)})`);
  });

  it("prunes old releases beyond rotabot_keep_releases, keeping current and previous", async () => {
    const [first, , third] = [releases[0]!, releases[1]!, releases[2]!];
    const run = await playbook("-e", `rotabot_source_dir=${third.dir}`);
    expect(run.exitCode, run.all).toBe(0);
    // keep 2: the new current and the one it replaced (rolled back to); the one rolled back from goes.
    expect(installedReleases()).toEqual([first.id, third.id].sort());
    expect([currentRelease(), previousRelease()]).toEqual([`releases/${third.id}`, `releases/${first.id}`]);
  });

  it("rotates rotabot's own bot token with the shell procedure of docs/deploy.md", async () => {
    const [oldToken] = secrets as [string];
    // BotFather's /revoke: a new token, and the old one dead at once (the fake Bot API keeps one token per bot).
    const newToken = tg.issueNewToken(BOT_ID);
    expect(newToken).not.toBe(oldToken);
    secrets.push(newToken);
    const credential = installed("etc/rotabot/credentials/bot_token.cred");
    // Step 2 as documented, on this prefix and without systemd (nothing to restart here).
    const script = shellProcedure()
      .replaceAll("/etc/rotabot/", `${installed("etc/rotabot")}/`)
      .replace(/ \\\n\s*&& systemctl restart rotabot$/, "");
    expect(script).toContain("systemd-creds encrypt --name=bot_token -");
    const shell = await execa("bash", ["-c", script], { input: `${newToken}\n`, reject: false, all: true });
    expect(shell.exitCode, shell.all).toBe(0);
    expect(shell.all).not.toContain(newToken);
    expect((await execa("systemd-creds", ["decrypt", "--name=bot_token", credential, "-"])).stdout).toBe(newToken);
    expect([statSync(credential).mode & 0o777, existsSync(`${credential}.new`)]).toEqual([0o400, false]);

    // Step 4: the controller's vault gets the new token. The next run keeps the credential as the
    // shell left it (nothing changed) and rotabot doctor passes with it.
    const vars = JSON.parse(readFileSync(varsFile, "utf8")) as Record<string, unknown>;
    writeFileSync(varsFile, JSON.stringify({ ...vars, vault_rotabot_bot_token: newToken }));
    const run = await playbook("-e", `rotabot_source_dir=${releases[2]!.dir}`);
    expect(run.exitCode, run.all).toBe(0);
    expect(recap(run.all)?.[1], run.all).toBe(0);
    expect(doctorReport(run.all)).toContain("✔ telegram bot: @akira_rotabot");
    expect(run.all).not.toContain(newToken);
  });

  it("uses plain LoadCredential= files, root only, where credentials are not to be encrypted", async () => {
    const run = await playbook(
      "-e",
      "rotabot_credentials_encrypted=false",
      "-e",
      `rotabot_source_dir=${releases[2]!.dir}`,
    );
    expect(run.exitCode, run.all).toBe(0);
    expect(doctorReport(run.all)).toContain("All checks passed.");
    const credentials = installed("etc/rotabot/credentials");
    expect(readdirSync(credentials).sort()).toEqual(["audit_key", "bot_token", "vault_password"]);
    // The audit key is carried over from the encrypted credential, not made anew.
    expect(readFileSync(path.join(credentials, "audit_key"), "utf8")).toBe(auditKey);
    expect([
      statSync(path.join(credentials, "bot_token")).uid,
      statSync(path.join(credentials, "bot_token")).mode & 0o777,
    ]).toEqual([0, 0o400]);
    const unit = installed("etc/systemd/system/rotabot.service");
    expect(readFileSync(unit, "utf8")).toContain(`\nLoadCredential=bot_token:${credentials}/bot_token\n`);
    await execa("systemd-analyze", ["verify", unit]);
  });
});
