import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { execa } from "execa";
import { stringify } from "yaml";
import { natsUserFor } from "../services/nats.js";
import { scramSha256Verifier } from "../services/scram-verifier.js";
import { freePort } from "./services/free-port.js";
import { startNatsContainer } from "./services/nats-container.js";
import { startPostgres } from "./services/start-postgres.js";
import { startApiGateway } from "./stand-ins/api-gateway.js";

/** The app stand-ins and service folders of one environment (each its own instance). */
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

/** What every environment of a box shares: account-wide services (one Telegram, one SignalWire, one Sentry). */
export interface SharedServices {
  freeswitchRepoUrl: string;
  telegramApiRoot: string;
}

/**
 * One environment of the box, first half: its own PostgreSQL cluster (role akira_app, database
 * akira, the vault's password as a SCRAM verifier), its own API gateway, its own service folders and
 * NATS ports, and its group_vars file. `deploy()` (after the infra is committed) renders its NATS
 * config with the infra's playbook, starts its NATS container and deploys every service with
 * site.yml, all with this environment's inventory. `cleanups` gets what stops each part.
 */
export async function prepareBoxEnvironment(options: {
  name: string;
  root: string;
  infraDir: string;
  postgresPassword: string;
  shared: SharedServices;
  /** What the environment's processes (PostgreSQL, nats-server, the apps) start with. */
  env: Readonly<Record<string, string>>;
  cleanups: (() => unknown)[];
}) {
  const { name, root, infraDir, env, cleanups } = options;
  const staging = name === "staging";
  // Staging keeps the single-environment box's paths and container name (the seed's `nats`).
  const servicesDir = path.join(root, staging ? "services" : `services-${name}`);
  for (const dir of SERVICES.map((s) => path.join(servicesDir, s))) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const postgres = await startPostgres({ parentDir: root, env });
  cleanups.push(() => postgres.stop());
  // The verifier, not the password: the server log never sees a plaintext, even at setup.
  await postgres.admin(`CREATE ROLE akira_app LOGIN PASSWORD '${scramSha256Verifier(options.postgresPassword)}'`);
  await postgres.admin("CREATE DATABASE akira OWNER akira_app");
  const apiGateway = await startApiGateway({ keysDir: path.join(servicesDir, "api-gateway") });
  cleanups.push(() => apiGateway.close());
  const [natsPort, natsMonitorPort] = [await freePort(), await freePort()];
  const nats = {
    container: staging ? "nats" : `nats-${name}`,
    conf: path.join(servicesDir, "nats", "nats-server.conf"),
    pidFile: path.join(servicesDir, "nats", "nats-server.pid"),
    url: `nats://127.0.0.1:${natsPort}`,
    monitorUrl: `http://127.0.0.1:${natsMonitorPort}`,
  };
  const inventory = `infra/inventory/${name}.yml`;
  if (!staging) writeFileSync(path.join(infraDir, inventory), inventoryLike(infraDir, name));
  const varsFile = path.join(infraDir, "infra/group_vars", `${name}.yml`);
  writeFileSync(
    varsFile,
    `# Where the ${name} services of this box listen (written by rotabot sandbox).\n${stringify({
      services_root: servicesDir,
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
      nats_container: nats.container,
      nats_container_conf: nats.conf,
      nats_docker_become: false,
      freeswitch_repo_url: options.shared.freeswitchRepoUrl,
      telegram_api_root: options.shared.telegramApiRoot,
      api_gateway_url: apiGateway.url,
    })}`,
  );
  let natsLog = () => "";

  return {
    name,
    inventory,
    servicesDir,
    varsFile,
    postgres,
    apiGateway,
    nats: { ...nats, log: () => natsLog() },
    /** Where rotabot's own checks find this environment's services (the runbook's `env`). */
    runbookEnv: {
      PGHOST: postgres.host,
      PGPORT: String(postgres.port),
      NATS_URL: nats.url,
      NATS_MONITOR_URL: nats.monitorUrl,
    },
    async deploy(
      playbook: (inventory: string, name: string, ...extra: string[]) => Promise<string>,
      natsPassword: string,
    ) {
      await playbook(inventory, "deploy_nats.yml", "--tags", "config");
      const server = await startNatsContainer({
        env,
        name: nats.container,
        conf: nats.conf,
        containersDir: path.join(root, "containers"),
      });
      cleanups.push(() => server.stop());
      natsLog = server.log;
      await createCdrStream(nats.url, natsPassword);
      // The backend and the workers run as small apps holding PostgreSQL sessions; stop them first.
      cleanups.push(() =>
        Promise.all(
          ["backend", "cdr-worker", "reports"].map((service) =>
            execa(path.join(infraDir, "scripts/akira_app.py"), ["stop", path.join(servicesDir, service)], {
              env,
              extendEnv: false,
              reject: false,
            }),
          ),
        ),
      );
      await playbook(inventory, "site.yml");
    },
  };
}
export type BoxEnvironment = Awaited<ReturnType<typeof prepareBoxEnvironment>>;

/** Another environment's inventory: staging's, with its group (and so its group_vars file) renamed. */
function inventoryLike(infraDir: string, name: string): string {
  const staging = readFileSync(path.join(infraDir, "infra/inventory/staging.yml"), "utf8");
  const body = staging.slice(staging.indexOf("all:"));
  return `# ${name} in a box (written by rotabot sandbox): staging.yml's shape, its own services.\n${body.replace(/^ {4}staging:$/m, `    ${name}:`)}`;
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
