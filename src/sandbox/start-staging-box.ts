import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { execa } from "execa";
import { stringify } from "yaml";
import { natsUserFor } from "../services/nats.js";
import { scramSha256Verifier } from "../services/scram-verifier.js";
import { allowedEnv } from "../exec/allowed-env.js";
import { generateSecret } from "../rotation/steps/generate.js";
import { createAnsibleVaultCli } from "../vault/ansible-vault-cli.js";
import { freePort } from "./services/free-port.js";
import { startNatsContainer } from "./services/nats-container.js";
import { startPostgres } from "./services/start-postgres.js";
import { startApiGateway } from "./stand-ins/api-gateway.js";
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

const SERVICES = [
  "backend",
  "cdr-worker",
  "reports",
  "kamailio-cdr-bridge",
  "tools",
  "notifications",
  "freeswitch",
  "nats",
  "api-gateway",
  "api-clients",
];

export interface StagingBoxOptions {
  /** The rotabot package root: the box's infra template is `deploy/sandbox/infra` below it. */
  packageRoot: string;
  /** Progress lines for a person watching the box come up. */
  say?: (line: string) => void;
  today?: Date;
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
 */
export async function startStagingBox({ packageRoot, say = () => undefined, today = new Date() }: StagingBoxOptions) {
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
    const servicesDir = path.join(root, "services");
    const binDir = path.join(root, "bin");
    const stateDir = path.join(root, "rotabot-state");
    const home = path.join(root, "home");
    for (const dir of [binDir, stateDir, home, ...SERVICES.map((s) => path.join(servicesDir, s))])
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    // As if the bot had been down over the last digest: it makes up for it at start, so the ops
    // chat opens with the daily digest and its Rotate buttons.
    writeFileSync(
      path.join(stateDir, "reminders.json"),
      JSON.stringify({ lastRunAt: new Date(today.getTime() - 2 * 86_400_000).toISOString() }),
    );

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
    telegram.addGroup({
      id: SANDBOX_IDS.opsChat,
      title: "Akira Ops",
      members: [SANDBOX_IDS.alice, SANDBOX_IDS.bob],
      bots: [SANDBOX_IDS.rotabot],
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
    const apiGateway = await startApiGateway({ keysDir: path.join(servicesDir, "api-gateway") });
    cleanups.push(() => apiGateway.close());

    const secrets = {
      vault_signalwire_token: repository.createToken(),
      vault_postgres_app_password: generateSecret(32, "alphanumeric"),
      vault_nats_password: generateSecret(32, "alphanumeric"),
      vault_telegram_bot_token: notifyToken,
      vault_sentry_dsn: sentry.createDsn(),
      vault_billing_api_token: generateSecret(40, "urlsafe"),
    };

    say("starting PostgreSQL 15 (scram-sha-256, every statement logged)");
    const postgres = await startPostgres({ parentDir: root });
    cleanups.push(() => postgres.stop());
    // The verifier, not the password: the server log never sees a plaintext, even at setup.
    await postgres.admin(
      `CREATE ROLE akira_app LOGIN PASSWORD '${scramSha256Verifier(secrets.vault_postgres_app_password)}'`,
    );
    await postgres.admin("CREATE DATABASE akira OWNER akira_app");

    const [natsPort, natsMonitorPort] = [await freePort(), await freePort()];
    const nats = {
      conf: path.join(servicesDir, "nats", "nats-server.conf"),
      pidFile: path.join(servicesDir, "nats", "nats-server.pid"),
      url: `nats://127.0.0.1:${natsPort}`,
      monitorUrl: `http://127.0.0.1:${natsMonitorPort}`,
    };

    say("writing the infra checkout: playbooks, encrypted vault, manifest");
    cpSync(path.join(packageRoot, "deploy/sandbox/infra"), infraDir, { recursive: true, verbatimSymlinks: true });
    const varsDir = path.join(infraDir, "infra/group_vars/all");
    writeFileSync(
      path.join(varsDir, "staging.yml"),
      `# Where the staging services of this box listen (written by rotabot sandbox).\n${stringify({
        staging_root: servicesDir,
        postgres_host: postgres.host,
        postgres_port: postgres.port,
        nats_host: "127.0.0.1",
        nats_port: natsPort,
        nats_monitor_port: natsMonitorPort,
        nats_conf_path: nats.conf,
        nats_pid_file: nats.pidFile,
        nats_store_dir: path.join(servicesDir, "nats", "jetstream"),
        // The container shares this machine's files, so the config's path inside it is the host
        // path (with docker it would be the mounted /etc/nats/nats-server.conf). rotabot's user is
        // root here; on a real NATS host `docker exec` needs become (the default).
        nats_container: "nats",
        nats_container_conf: nats.conf,
        nats_docker_become: false,
        freeswitch_repo_url: repository.url,
        telegram_api_root: telegram.url,
        api_gateway_url: apiGateway.url,
      })}`,
    );
    writeFileSync(path.join(varsDir, "_secrets_manifest.yml"), manifestFor(today));
    const passwordFile = path.join(root, "vault-pass.txt");
    writeFileSync(passwordFile, `${generateSecret(32, "alphanumeric")}\n`, { mode: 0o600 });
    const commandEnv = {
      ...allowedEnv(process.env),
      HOME: home,
      PATH: `${binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    };
    const vaultText = `# Akira staging vault (rotabot sandbox). Edit with ansible-vault edit.\n${Object.entries(secrets)
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
    await git("commit", "-qm", "Staging infra");

    const playbook = async (name: string, ...extra: string[]) => {
      const run = await execa(
        "ansible-playbook",
        [
          "-i",
          "infra/inventory/staging.yml",
          `infra/playbooks/${name}`,
          "--vault-password-file",
          passwordFile,
          ...extra,
        ],
        { cwd: infraDir, env: { ...commandEnv, ANSIBLE_NOCOLOR: "1" }, extendEnv: false, reject: false, all: true },
      );
      if (run.exitCode !== 0) throw new Error(`ansible-playbook ${name} failed:\n${run.all}`);
      return run.all;
    };
    say("rendering the NATS config with the infra's playbook and starting the nats container (JetStream)");
    await playbook("deploy_nats.yml", "--tags", "config");
    const natsServer = await startNatsContainer({
      name: "nats",
      conf: nats.conf,
      containersDir: path.join(root, "containers"),
    });
    cleanups.push(() => natsServer.stop());
    await createCdrStream(nats.url, secrets.vault_nats_password);

    say("deploying every service with the infra's site.yml");
    // The backend and the workers run as small apps holding PostgreSQL sessions; stop them first.
    cleanups.push(() =>
      Promise.all(
        ["backend", "cdr-worker", "reports"].map((service) =>
          execa(path.join(infraDir, "scripts/akira_app.py"), ["stop", path.join(servicesDir, service)], {
            reject: false,
          }),
        ),
      ),
    );
    await playbook("site.yml");

    return {
      root,
      infraDir,
      servicesDir,
      passwordFile,
      secrets,
      telegram,
      repository,
      sentry,
      apiGateway,
      postgres,
      nats: { ...nats, log: natsServer.log },
      playbook,
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
        STATE_DIR: stateDir,
        PGHOST: postgres.host,
        PGPORT: String(postgres.port),
        NATS_URL: nats.url,
        NATS_MONITOR_URL: nats.monitorUrl,
        AUDIT_MAX_PER_MINUTE: "600",
      } as Record<string, string>,
      stop,
    };
  }
}
export type StagingBox = Awaited<ReturnType<typeof startStagingBox>>;

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

async function createCdrStream(url: string, password: string): Promise<void> {
  const nc = await connect({
    servers: url,
    user: natsUserFor("akira-{password_sha256_8}", password),
    pass: password,
    timeout: 10_000,
  });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "AKIRA_CDR", subjects: ["cdr.>"] });
    await jsm.consumers.add("AKIRA_CDR", { durable_name: "cdr_worker", ack_policy: AckPolicy.Explicit });
  } finally {
    await nc.close();
  }
}
