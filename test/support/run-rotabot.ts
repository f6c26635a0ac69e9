import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MAIN_JS } from "./paths.js";

/** The environment a rotabot process gets in tests: nothing inherited but PATH, and a temp HOME. */
export function testEnv(extra: Record<string, string>): Record<string, string> {
  const home = mkdtempSync(path.join(tmpdir(), "rotabot-home-"));
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, STATE_DIR: path.join(home, "state"), ...extra };
}

/** Runs `rotabot <args>` to completion. */
export function runRotabot(
  args: string[],
  env: Record<string, string>,
  cwd = tmpdir(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
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
}

export function spawnBot(env: Record<string, string>, cwd = tmpdir()): BotProcess {
  const child = spawn(process.execPath, [MAIN_JS, "start"], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
