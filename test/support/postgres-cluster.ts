import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";

const BIN = "/usr/lib/postgresql/15/bin";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A throwaway PostgreSQL 15 cluster on a random port, scram-sha-256 everywhere, every statement logged. */
export async function startPostgres() {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-pg-"));
  chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  const superPassword = randomBytes(12).toString("hex");
  writeFileSync(path.join(dir, "pw"), superPassword);
  execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const asPostgres = (cmd: string, args: string[]) => execFileSync("runuser", ["-u", "postgres", "--", path.join(BIN, cmd), ...args], { stdio: "pipe" });
  asPostgres("initdb", ["-D", data, "-A", "scram-sha-256", "-U", "postgres", `--pwfile=${path.join(dir, "pw")}`]);
  const port = await freePort();
  const log = path.join(dir, "server.log");
  asPostgres("pg_ctl", ["-D", data, "-l", log, "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c log_statement=all -c log_connections=on`, "start"]);
  const admin = async (sql: string) => {
    const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password: superPassword, database: "postgres" });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    port,
    admin,
    serverLog: () => readFileSync(log, "utf8"),
    stop: () => asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "stop"]),
  };
}
