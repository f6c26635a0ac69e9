import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitForReady } from "../../src/cli/signal-ready.js";
import { MAIN_JS, rotabotNode } from "./paths.js";
import { withRunMark } from "./sweep-processes.js";

/** The environment a rotabot process gets in tests: nothing inherited but PATH, and a temp HOME. */
export function testEnv(extra: Record<string, string>): Record<string, string> {
  const home = mkdtempSync(path.join(tmpdir(), "rotabot-home-"));
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, STATE_DIR: path.join(home, "state"), ...extra };
}

/** Runs `rotabot <args>` to completion (in its own process group, marked for the sweep: sweep-processes.ts). */
export function runRotabot(
  args: string[],
  env: Record<string, string>,
  cwd = tmpdir(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(rotabotNode(), [MAIN_JS, ...args], {
      env: withRunMark(env),
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running `rotabot start` with its output collected. */
export interface BotProcess {
  child: ChildProcess;
  output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop: () => Promise<number | null>;
  exited: Promise<number | null>;
  /**
   * Resolves once this process says it is ready (READY_FILE: READY=1 and its pid, written once it
   * polls Telegram); rejects with its output when it exits first or takes longer than `timeoutMs`.
   */
  ready: (timeoutMs?: number) => Promise<void>;
}

/**
 * `rotabot start` in its own process group, marked for the sweep (sweep-processes.ts) like
 * everything it starts; READY_FILE is set to a file of its own unless `env` names one. `nodeArgs`
 * go to node before the script (the bench runs it with the systemd unit's flags).
 */
export function spawnBot(env: Record<string, string>, cwd = tmpdir(), nodeArgs: readonly string[] = []): BotProcess {
  const readyFile = env.READY_FILE ?? path.join(mkdtempSync(path.join(tmpdir(), "rotabot-ready-")), "ready");
  const child = spawn(rotabotNode(), [...nodeArgs, MAIN_JS, "start"], {
    env: withRunMark({ ...env, READY_FILE: readyFile }),
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async ready(timeoutMs = 60_000) {
      const ready = await Promise.race([waitForReady(readyFile, child.pid!, timeoutMs), exited.then(() => false)]);
      if (!ready)
        throw new Error(
          `rotabot start ${child.exitCode === null ? `did not say it was ready within ${timeoutMs} ms` : `exited (${child.exitCode})`}:\n${output}`,
        );
    },
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
