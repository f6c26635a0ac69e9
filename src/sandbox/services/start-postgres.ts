import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./free-port.js";

const BIN = "/usr/lib/postgresql/15/bin";

/**
 * A throwaway PostgreSQL 15 cluster on a random port of 127.0.0.1: scram-sha-256 everywhere,
 * every statement and connection logged (so a test can prove no plaintext password reached it).
 * As root it runs as the `postgres` user, since PostgreSQL refuses to run as root.
 */
export async function startPostgres({
  parentDir = tmpdir(),
  env,
}: {
  parentDir?: string;
  /** What initdb, pg_ctl and the server start with (they inherit this process's environment when omitted). */
  env?: Readonly<Record<string, string>>;
} = {}) {
  const dir = mkdtempSync(path.join(parentDir, "postgres-"));
  chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  const superPassword = randomBytes(12).toString("hex");
  writeFileSync(path.join(dir, "pw"), superPassword);
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
  const port = await freePort();
  const log = path.join(dir, "server.log");
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    log,
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c log_statement=all -c log_connections=on`,
    "start",
  ]);
  const connect = async (database = "postgres") => {
    const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password: superPassword, database });
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
