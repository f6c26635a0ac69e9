import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The host PID of the only child of `pid` (unshare --fork's child: the container's PID 1). */
function childOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
    return children[0] ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Debian's nats-server, unmodified, in a container without docker: `unshare --pid --fork
 * --mount-proc nats-server -c <conf>` makes it PID 1 of its own PID namespace, as in a docker
 * container whose entrypoint is nats-server (design.md section 5). The host PID of that PID 1 goes
 * to `<containersDir>/<name>/pid`, where the box's `docker` (deploy/sandbox/bin/docker) finds it
 * for `docker exec <name> ...`. The container shares the host's files, so the config's path inside
 * is the host path. Needs root (a new PID namespace). Resolves once the server is ready.
 */
export async function startNatsContainer({
  name,
  conf,
  containersDir,
  env,
}: {
  name: string;
  conf: string;
  containersDir: string;
  /** What the container starts with (this process's environment when omitted). */
  env?: Readonly<Record<string, string>>;
}) {
  const dir = path.join(containersDir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidFile = path.join(dir, "pid");
  const unshare = spawn("unshare", ["--pid", "--fork", "--mount-proc", "nats-server", "-c", conf], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let log = "";
  unshare.stdout.on("data", (d: Buffer) => (log += d.toString()));
  unshare.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => unshare.once("exit", () => resolve()));
  let hostPid: number | undefined;
  const deadline = Date.now() + 10_000;
  while (!log.includes("Server is ready") || hostPid === undefined) {
    if (unshare.exitCode !== null || Date.now() > deadline) {
      if (unshare.exitCode === null) unshare.kill("SIGKILL");
      throw new Error(
        `the NATS container did not start (unshare --pid needs root):\n${log || "(no output)"}\nrun the sandbox as root`,
      );
    }
    hostPid ??= unshare.pid === undefined ? undefined : childOf(unshare.pid);
    await new Promise((r) => setTimeout(r, 50));
  }
  writeFileSync(pidFile, `${hostPid}\n`);
  return {
    /** The host's PID of the container's PID 1 (nats-server). */
    hostPid,
    log: () => log,
    /** Like `docker kill`: PID 1 dies, and with it the namespace and unshare. */
    async stop(): Promise<void> {
      rmSync(pidFile, { force: true });
      if (unshare.exitCode === null) {
        try {
          process.kill(hostPid, "SIGKILL");
        } catch {
          unshare.kill("SIGKILL");
        }
      }
      await exited;
    },
  };
}
export type NatsContainer = Awaited<ReturnType<typeof startNatsContainer>>;
