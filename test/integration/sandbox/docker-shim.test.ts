import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../src/sandbox/services/free-port.js";
import { startNatsContainer, type NatsContainer } from "../../../src/sandbox/services/nats-container.js";
import { PROJECT_ROOT } from "../../support/paths.js";

// The box's docker and its NATS container, on their own: Debian's nats-server as PID 1 of a PID
// namespace, and `docker exec` entering it with the argv it was given.
let root: string;
let container: NatsContainer;
let monitor: string;
const docker = (...args: string[]) =>
  execa(path.join(root, "bin/docker"), args, {
    reject: false,
    env: { PATH: process.env.PATH, CALLER_ONLY: "from the caller" },
    extendEnv: false,
  });
const loadTime = async () =>
  ((await (await fetch(`${monitor}/varz`)).json()) as { config_load_time: string }).config_load_time;
const reloads = () => container.log().split("Reloaded server configuration").length - 1;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "rotabot-docker-"));
  mkdirSync(path.join(root, "bin"));
  copyFileSync(path.join(PROJECT_ROOT, "deploy/sandbox/bin/docker"), path.join(root, "bin/docker"));
  const [port, http] = [await freePort(), await freePort()];
  monitor = `http://127.0.0.1:${http}`;
  const conf = path.join(root, "nats-server.conf");
  writeFileSync(conf, `listen: 127.0.0.1:${port}\nhttp: 127.0.0.1:${http}\n`);
  container = await startNatsContainer({ name: "nats", conf, containersDir: path.join(root, "containers") });
});
afterAll(async () => {
  await container?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("the box's docker exec runs exactly the argv it gets", () => {
  it("runs the seed's literal `docker exec nats nats-server -sl` as nats-server does: usage, exit 0, no reload", async () => {
    const before = await loadTime();
    const seed = await docker("exec", "nats", "nats-server", "-sl");
    expect(seed.exitCode).toBe(0);
    expect(seed.stderr).toContain("flag needs an argument: -sl");
    expect(seed.stdout).toContain("Usage: nats-server [options]");
    expect(await loadTime()).toBe(before);

    // nats-server handles signals in order: had -sl reloaded, this reload would be the second.
    const reload = await docker("exec", "nats", "nats-server", "--signal", "reload=1");
    expect(reload.exitCode).toBe(0);
    await expect.poll(loadTime, { timeout: 5_000 }).not.toBe(before);
    expect(reloads()).toBe(1);
  });

  it("enters the container: nats-server is PID 1 there, the config test runs inside", async () => {
    expect((await docker("exec", "nats", "cat", "/proc/1/comm")).stdout.trim()).toBe("nats-server");
    expect((await docker("exec", "nats", "ps", "-o", "pid=", "-p", "1")).stdout.trim()).toBe("1");
    const test = await docker("exec", "nats", "nats-server", "-t", "-c", path.join(root, "nats-server.conf"));
    expect(test.exitCode).toBe(0);
    expect(test.stderr).toMatch(/configuration file .* is valid/);
  });

  it("passes arguments unchanged, without a shell, and returns the command's exit status", async () => {
    expect((await docker("exec", "nats", "printf", "%s|", "a b", "$HOME", ";", "*")).stdout).toBe("a b|$HOME|;|*|");
    expect((await docker("exec", "nats", "sh", "-c", "exit 7")).exitCode).toBe(7);
    const chained = await docker("exec", "nats", "echo a && echo b");
    expect(chained.exitCode).toBe(127);
    expect(chained.stdout).toBe("");
  });

  it("gives the command the container's environment and working directory, plus -e", async () => {
    const env = (await docker("exec", "-e", "EXTRA=1", "nats", "env")).stdout.split("\n");
    expect(env).toEqual(expect.arrayContaining(["HOSTNAME=nats", "EXTRA=1"]));
    expect(env.join("\n")).not.toContain("CALLER_ONLY");
    expect((await docker("exec", "-e", "CALLER_ONLY", "nats", "env")).stdout).toContain("CALLER_ONLY=from the caller");
    expect((await docker("exec", "nats", "pwd")).stdout.trim()).toBe("/");
  });

  it("answers like docker to missing arguments, unknown containers and what it does not emulate", async () => {
    const short = await docker("exec", "nats");
    expect(short.exitCode).toBe(1);
    expect(short.stderr).toContain("docker: 'docker exec' requires at least 2 arguments");
    const unknown = await docker("exec", "nope", "true");
    expect(unknown).toMatchObject({ exitCode: 1, stderr: "Error response from daemon: No such container: nope" });
    for (const args of [["ps"], ["exec", "-t", "nats", "true"], ["exec", "-u", "nobody", "nats", "true"]]) {
      const refused = await docker(...args);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toMatch(/^docker \(rotabot sandbox\): /);
    }
  });
});
