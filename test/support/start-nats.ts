import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../src/sandbox/services/free-port.js";

/**
 * Runs `nats-server -c <conf>` in its own process group and resolves once it is ready; its log is
 * collected. It inherits this worker's mark, so a test that never stops it leaves nothing behind
 * (mark-processes.ts).
 */
export async function runNatsServer(conf: string) {
  const child = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!log.includes("Server is ready")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nats-server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid!,
    log: () => log,
    async stop(): Promise<void> {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * A real nats-server with JetStream on random ports; `users` become the authorization block. With
 * `tls` (a certificate and its key) clients must use TLS and the monitoring endpoint is https
 * (`https:` with a `tls {}` block, nats-server 2.9 docs "Monitoring": HTTPS uses the same TLS
 * configuration as clients).
 */
export async function startNats(
  users: { user: string; password: string }[],
  { tls }: { tls?: { certFile: string; keyFile: string } } = {},
) {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-nats-"));
  const [port, monitor] = [await freePort(), await freePort()];
  const conf = path.join(dir, "nats.conf");
  const secure = tls ? `tls { cert_file: "${tls.certFile}", key_file: "${tls.keyFile}" }\n` : "";
  const render = (list: typeof users) =>
    `listen: 127.0.0.1:${port}\n${tls ? "https" : "http"}: 127.0.0.1:${monitor}\n${secure}jetstream { store_dir: "${path.join(dir, "js")}" }\nauthorization { users = [\n${list.map((u) => `  { user: "${u.user}", password: "${u.password}" }`).join("\n")}\n] }\n`;
  writeFileSync(conf, render(users));
  const server = await runNatsServer(conf);
  return {
    pid: server.pid,
    url: `${tls ? "tls" : "nats"}://127.0.0.1:${port}`,
    monitorUrl: `${tls ? "https" : "http"}://127.0.0.1:${monitor}`,
    conf,
    log: server.log,
    writeConfig: (list: typeof users) => writeFileSync(conf, render(list)),
    stop: () => void server.stop(),
  };
}
