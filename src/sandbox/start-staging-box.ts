import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { parseDocument } from "yaml";
import { allowedEnv } from "../exec/allowed-env.js";
import { natsUserFor } from "../services/nats.js";
import { generateSecret } from "../steps/generate.js";
import { createAnsibleVaultCli } from "../vault/ansible-vault-cli.js";
import { prepareBoxEnvironment, type BoxEnvironment } from "./start-box-environment.js";
import { startPackageRepository } from "./stand-ins/package-repository.js";
import { startSentryIngest } from "./stand-ins/sentry-ingest.js";
import { startFakeBotApi } from "./telegram/fake-bot-api.js";

/** Who is who in the box's Telegram. */
export const SANDBOX_IDS = {
  rotabot: 7001,
  notifyBot: 5_550_001_234,
  opsChat: -1_001_000_000_001,
  auditChat: -1_001_000_000_002,
  alice: 101,
  bob: 102,
} as const;

export interface StagingBoxOptions {
  /** The rotabot package root: the box's infra template is `deploy/sandbox/infra` below it. */
  packageRoot: string;
  /**
   * The environment the box's commands start from (ansible, git, PostgreSQL, nats-server, and
   * `rotabotEnv`): only its allowlisted variables are passed on (src/exec/allowed-env.ts), PATH
   * with the box's `docker` first. The sandbox command passes its own; a test passes process.env.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Progress lines for a person watching the box come up. */
  say?: (line: string) => void;
  today?: Date;
  /**
   * The environments, in rollout order; staging first. Each gets its own PostgreSQL cluster, NATS
   * container, app stand-ins and API gateway; Telegram, SignalWire and Sentry are account-wide and
   * shared. With more than one, rotabot runs the shipped runbook with its `environments:` set to
   * these (RUNBOOK_FILE). Default: staging alone, the shipped runbook unchanged.
   */
  environments?: readonly string[];
}

/**
 * Staging in a box: a git infra checkout with the seed's paths and real playbooks, an encrypted
 * vault, a real PostgreSQL (role akira_app), Debian's nats-server (JetStream stream AKIRA_CDR,
 * consumer cdr_worker; config rendered by the playbook) running as PID 1 of its own PID namespace
 * like a docker container named `nats`, a `docker` (deploy/sandbox/bin/docker) whose `exec` runs
 * exactly the argv it gets inside that container, and local stand-ins for Telegram, the SignalWire
 * package repository, Sentry and the API gateway, each with its contract in its file. Every port is
 * random on 127.0.0.1 and every folder temporary; stop() removes them. Needs root (the container's
 * PID namespace and PostgreSQL's own user). The initial deploy runs the infra's own site.yml.
 * With `environments: ["staging", "production"]` every environment gets its own inventory, group
 * vars, PostgreSQL, NATS container (`nats`, `nats-production`), app stand-ins and API gateway.
 */
export async function startStagingBox({
  packageRoot,
  env,
  say = () => undefined,
  today = new Date(),
  environments = ["staging"],
}: StagingBoxOptions) {
  if (environments[0] !== "staging" || new Set(environments).size !== environments.length)
    throw new Error(`a box's environments start with staging, each once: ${environments.join(", ")}`);
  const root = mkdtempSync(path.join(tmpdir(), "rotabot-staging-"));
  chmodSync(root, 0o711); // PostgreSQL runs as its own user and must reach its folder below
  const cleanups: (() => unknown)[] = [() => rmSync(root, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    return await build();
  } catch (error) {
    await stop();
    throw error;
  }

  async function build() {
    const infraDir = path.join(root, "akira");
    const binDir = path.join(root, "bin");
    const stateDir = path.join(root, "rotabot-state");
    const home = path.join(root, "home");
    for (const dir of [binDir, stateDir, home]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    // As if the bot had been down over the last digest: it makes up for it at start, so the ops
    // chat opens with the daily digest and its Rotate buttons.
    writeFileSync(
      path.join(stateDir, "reminders.json"),
      JSON.stringify({ lastRunAt: new Date(today.getTime() - 2 * 86_400_000).toISOString() }),
    );

    const commandEnv = {
      ...allowedEnv(env),
      HOME: home,
      PATH: `${binDir}:${env.PATH ?? "/usr/bin:/bin"}`,
    };

    say("starting the Telegram stand-in, the SignalWire package repository and Sentry");
    const telegram = await startFakeBotApi();
    cleanups.push(() => telegram.close());
    const { token: rotabotToken } = telegram.addBot({
      id: SANDBOX_IDS.rotabot,
      username: "akira_rotabot",
      firstName: "rotabot",
    });
    const notifyToken = telegram.addBot({
      id: SANDBOX_IDS.notifyBot,
      username: "akira_alerts_bot",
      firstName: "Akira alerts",
    }).token;
    telegram.addUser({ id: SANDBOX_IDS.alice, first_name: "Alice", username: "alice" });
    telegram.addUser({ id: SANDBOX_IDS.bob, first_name: "Bob", username: "bob" });
    // As production should be (docs/deploy.md, step 2): an admin with "Delete messages", so a
    // secret pasted in the group is seen and deleted.
    telegram.addGroup({
      id: SANDBOX_IDS.opsChat,
      title: "Akira Ops",
      members: [SANDBOX_IDS.alice, SANDBOX_IDS.bob],
      // The notification bot posts the team's alerts here, where the Telegram rotation's test alert goes too.
      bots: [SANDBOX_IDS.rotabot, SANDBOX_IDS.notifyBot],
      adminBots: [SANDBOX_IDS.rotabot],
    });
    telegram.addGroup({
      id: SANDBOX_IDS.auditChat,
      title: "Akira Audit",
      type: "channel",
      members: [],
      bots: [SANDBOX_IDS.rotabot, SANDBOX_IDS.notifyBot],
      adminBots: [SANDBOX_IDS.rotabot, SANDBOX_IDS.notifyBot],
    });
    for (const user of [SANDBOX_IDS.alice, SANDBOX_IDS.bob])
      telegram.userSends({ from: user, chat: "private", text: "/start" });
    const repository = await startPackageRepository();
    cleanups.push(() => repository.close());
    const sentry = await startSentryIngest();
    cleanups.push(() => sentry.close());

    const secrets = {
      vault_signalwire_token: repository.createToken(),
      vault_postgres_app_password: generateSecret(32, "alphanumeric"),
      vault_nats_password: generateSecret(32, "alphanumeric"),
      vault_telegram_bot_token: notifyToken,
      vault_sentry_dsn: sentry.createDsn(),
      vault_billing_api_token: generateSecret(40, "urlsafe"),
    };

    say("writing the infra checkout: playbooks, encrypted vault, manifest");
    cpSync(path.join(packageRoot, "deploy/sandbox/infra"), infraDir, { recursive: true, verbatimSymlinks: true });
    say(
      `starting PostgreSQL 15 (scram-sha-256, every statement logged) and an API gateway for ${environments.join(" and ")}`,
    );
    const envs = await Promise.all(
      environments.map((name) =>
        prepareBoxEnvironment({
          name,
          root,
          infraDir,
          postgresPassword: secrets.vault_postgres_app_password,
          shared: { freeswitchRepoUrl: repository.url, telegramApiRoot: telegram.url },
          env: commandEnv,
          cleanups,
        }),
      ),
    );
    const staging = envs[0]!;
    const varsDir = path.join(infraDir, "infra/group_vars/all");
    writeFileSync(path.join(varsDir, "_secrets_manifest.yml"), manifestFor(today));
    writeFileSync(path.join(varsDir, "nats.yml"), plainNatsUserFor(secrets.vault_nats_password));
    const passwordFile = path.join(root, "vault-pass.txt");
    writeFileSync(passwordFile, `${generateSecret(32, "alphanumeric")}\n`, { mode: 0o600 });
    // The audit log's HMAC key, as the install role makes it (32 random bytes, hex, readable by rotabot alone).
    const auditKeyFile = path.join(root, "audit_key");
    writeFileSync(auditKeyFile, `${randomBytes(32).toString("hex")}\n`, { mode: 0o400 });
    const vaultText = `# Akira vault (rotabot sandbox), read by every inventory. Edit with ansible-vault edit.\n${Object.entries(
      secrets,
    )
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join("\n")}\n`;
    const encrypted = await createAnsibleVaultCli({ passwordFile, env: commandEnv }).encrypt(
      vaultText,
      path.join(varsDir, "vault.yml"),
    );
    if (!encrypted.ok) throw new Error(encrypted.message);
    copyFileSync(path.join(packageRoot, "deploy/sandbox/bin/docker"), path.join(binDir, "docker"));
    chmodSync(path.join(binDir, "docker"), 0o755);
    const git = (...args: string[]) =>
      execa("git", ["-c", "user.name=Akira Ops", "-c", "user.email=ops@akira.test", ...args], {
        cwd: infraDir,
        env: commandEnv,
        extendEnv: false,
      });
    await git("init", "-q", "-b", "main");
    await git("add", "-A");
    await git("commit", "-qm", "Akira infra");

    const runPlaybook = async (inventory: string, name: string, ...extra: string[]) => {
      const run = await execa(
        "ansible-playbook",
        ["-i", inventory, `infra/playbooks/${name}`, "--vault-password-file", passwordFile, ...extra],
        { cwd: infraDir, env: { ...commandEnv, ANSIBLE_NOCOLOR: "1" }, extendEnv: false, reject: false, all: true },
      );
      if (run.exitCode !== 0) throw new Error(`ansible-playbook -i ${inventory} ${name} failed:\n${run.all}`);
      return run.all;
    };
    say("rendering each NATS config with the infra's playbook, starting the nats containers, deploying with site.yml");
    await Promise.all(envs.map((env) => env.deploy(runPlaybook, secrets.vault_nats_password)));
    const runbookFile = envs.length > 1 ? writeRunbook(packageRoot, root, envs) : undefined;

    return {
      root,
      infraDir,
      /** Staging's, as in the single-environment box; every environment's are in `environments`. */
      servicesDir: staging.servicesDir,
      passwordFile,
      secrets,
      telegram,
      repository,
      sentry,
      apiGateway: staging.apiGateway,
      postgres: staging.postgres,
      nats: staging.nats,
      environments: envs,
      /** Runs a playbook of the infra with the staging inventory. */
      playbook: (name: string, ...extra: string[]) => runPlaybook(staging.inventory, name, ...extra),
      runPlaybook,
      git: (...args: string[]) => git(...args).then((r) => r.stdout),
      /** The environment `rotabot start` (or `rotabot rotate`) runs with in this box. */
      rotabotEnv: {
        ...commandEnv,
        BOT_TOKEN: rotabotToken,
        TELEGRAM_API_ROOT: telegram.url,
        OPS_CHAT_ID: String(SANDBOX_IDS.opsChat),
        AUDIT_CHAT_ID: String(SANDBOX_IDS.auditChat),
        OPERATOR_IDS: `${SANDBOX_IDS.alice},${SANDBOX_IDS.bob}`,
        INFRA_DIR: infraDir,
        VAULT_PASSWORD_FILE: passwordFile,
        AUDIT_KEY_FILE: auditKeyFile,
        STATE_DIR: stateDir,
        ...staging.runbookEnv,
        ...(runbookFile ? { RUNBOOK_FILE: runbookFile } : {}),
        AUDIT_MAX_PER_MINUTE: "600",
      } as Record<string, string>,
      stop,
    };
  }
}
export type StagingBox = Awaited<ReturnType<typeof startStagingBox>>;

/**
 * The box starts as a team that has not moved to per-password NATS users yet: every client logs in
 * as the plain user `akira` with the current password, so its first NATS rotation is the migration
 * (docs/runbook.md, "Moving to the per-password NATS users"). The plain user is tied to this
 * password by its hash: it disappears from the config with the old password.
 */
function plainNatsUserFor(password: string): string {
  return `# Before the per-password scheme every client used the plain user akira. It stays, for this password
# only, until the first NATS rotation moves the clients to akira-<hash of the new password>.
nats_plain_user:
  name: akira
  password_sha256_8: "${natsUserFor("{password_sha256_8}", password)}"
`;
}

function daysBefore(today: Date, days: number): string {
  return new Date(today.getTime() - days * 86_400_000).toISOString().slice(0, 10);
}

function manifestFor(today: Date): string {
  return `# Which secrets exist, who owns them and when they were last rotated (rotabot age reads this).
secrets_manifest:
  vault_telegram_bot_token:
    category: telegram_bot_token
    owner: "@alerts-oncall"
    last_rotation: ${daysBefore(today, 400)}
  vault_signalwire_token:
    category: signalwire_pat
    owner: "@voice-team"
    last_rotation: ${daysBefore(today, 350)}
  vault_postgres_app_password:
    category: database_password
    owner: "@backend-team"
    last_rotation: ${daysBefore(today, 120)}
  vault_nats_password:
    category: nats_password
    owner: "@platform-team"
  vault_sentry_dsn:
    category: sentry_dsn
    owner: "@backend-team"
  vault_billing_api_token:
    category: api_token
    owner: "@billing-team"
    last_rotation: ${daysBefore(today, 200)}
`;
}

/** The shipped runbook with `environments:` set to the box's, each with where its services listen. */
function writeRunbook(packageRoot: string, root: string, envs: readonly BoxEnvironment[]): string {
  const doc = parseDocument(readFileSync(path.join(packageRoot, "deploy/runbook.yml"), "utf8"));
  doc.set(
    "environments",
    envs.map((env) => ({ name: env.name, inventory: env.inventory, env: env.runbookEnv })),
  );
  const file = path.join(root, "runbook.yml");
  writeFileSync(file, doc.toString());
  return file;
}
