import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./free-port.js";

const BIN = "/usr/lib/postgresql/15/bin";

/**
 * A throwaway PostgreSQL 15 cluster on a random port of 127.0.0.1: scram-sha-256 everywhere,
 * every statement and connection logged (so a test can prove no plaintext password reached it).
 * As root it runs as the `postgres` user, since PostgreSQL refuses to run as root. With `tls`
 * (a certificate and its key) it serves TLS (`ssl = on`); with `hostsslOnly` its pg_hba.conf
 * accepts TCP connections over TLS only (`hostssl`), as a production server that refuses
 * cleartext logins does: PostgreSQL then answers a plain connection "no pg_hba.conf entry for
 * host ..., no encryption".
 */
export async function startPostgres({
  parentDir = tmpdir(),
  env,
  tls,
  hostsslOnly = false,
}: {
  parentDir?: string;
  /** What initdb, pg_ctl and the server start with (they inherit this process's environment when omitted). */
  env?: Readonly<Record<string, string>>;
  tls?: { certFile: string; keyFile: string };
  hostsslOnly?: boolean;
} = {}) {
  const dir = mkdtempSync(path.join(parentDir, "postgres-"));
  chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  const superPassword = randomBytes(12).toString("hex");
  writeFileSync(path.join(dir, "pw"), superPassword);
  // The server reads its key as its own user, readable by nobody else (it refuses a looser key).
  if (tls) {
    copyFileSync(tls.certFile, path.join(dir, "server.crt"));
    copyFileSync(tls.keyFile, path.join(dir, "server.key"));
    chmodSync(path.join(dir, "server.key"), 0o600);
  }
  const root = process.getuid?.() === 0;
  if (root) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = root
      ? ["runuser", ["-u", "postgres", "--", path.join(BIN, cmd), ...args]]
      : [path.join(BIN, cmd), args];
    try {
      execFileSync(file, argv, { stdio: "pipe", encoding: "utf8", env });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(
        `PostgreSQL ${cmd} failed${stderr ? `: ${stderr}` : ""}. Is postgresql-15 installed (apt-get install postgresql-15)?`,
      );
    }
  };
  run("initdb", ["-D", data, "-A", "scram-sha-256", "-U", "postgres", `--pwfile=${path.join(dir, "pw")}`]);
  if (hostsslOnly)
    writeFileSync(
      path.join(data, "pg_hba.conf"),
      "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
    );
  const ssl = tls
    ? ` -c ssl=on -c ssl_cert_file=${path.join(dir, "server.crt")} -c ssl_key_file=${path.join(dir, "server.key")}`
    : "";
  const port = await freePort();
  const log = path.join(dir, "server.log");
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    log,
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c log_statement=all -c log_connections=on${ssl}`,
    "start",
  ]);
  const connect = async (database = "postgres") => {
    // With hostsslOnly the superuser comes in over the socket: TCP then takes TLS only.
    const host = hostsslOnly ? dir : "127.0.0.1";
    const client = new pg.Client({ host, port, user: "postgres", password: superPassword, database });
    await client.connect();
    return client;
  };
  const admin = async (sql: string, database = "postgres") => {
    const client = await connect(database);
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    host: "127.0.0.1",
    port,
    dir,
    admin,
    serverLog: () => readFileSync(log, "utf8"),
    stop: () => {
      run("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
    },
  };
}
export type Postgres = Awaited<ReturnType<typeof startPostgres>>;
