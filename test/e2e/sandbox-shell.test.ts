import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAIN_JS } from "../support/paths.js";
import { startShell } from "../support/rotation-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";

let sandbox: ChildProcess | undefined;
afterAll(() => {
  if (sandbox?.exitCode === null) sandbox.kill("SIGKILL");
});

/** The environment of another terminal after the banner's `export` lines (PATH's "$PATH" expanded). */
function afterExports(banner: string, terminal: Record<string, string>): Record<string, string> {
  const env = { ...terminal };
  for (const [, key, raw] of banner.matchAll(/^ {4}export ([A-Z_]+)=(\S+)/gm)) {
    const value = raw!.replace(/^'(.*)'$/, "$1").replace(':"$PATH"', `:${terminal.PATH}`);
    env[key!] = value;
  }
  return env;
}

describe("rotabot sandbox and the shell in another terminal", { timeout: 900_000 }, () => {
  it("prints the export lines that point status, doctor and rotate at the box; a shell rotation there reaches its audit channel", async () => {
    const home = mkdtempSync(path.join(tmpdir(), "sandbox-home-"));
    const terminal = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, USER: "opsuser" };
    sandbox = spawn(process.execPath, [MAIN_JS, "sandbox", "--port", "0"], {
      env: terminal,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let printed = "";
    sandbox.stdout!.on("data", (d: Buffer) => (printed += d.toString()));
    sandbox.stderr!.on("data", (d: Buffer) => (printed += d.toString()));
    const exited = new Promise<number | null>((resolve) => sandbox!.once("exit", resolve));
    await expect
      .poll(() => printed, { timeout: 360_000, interval: 200 })
      .toMatch(/Ctrl-C stops everything and removes \S+\.\n/);
    const url = /open (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1]!;
    const infraDir = /Infra checkout: (\S+)/.exec(printed)![1]!;
    const root = /removes (\S+)\.\n/.exec(printed)![1]!;
    for (const key of ["ROTABOT_ENV_FILE", "STATE_DIR", "INFRA_DIR", "VAULT_PASSWORD_FILE", "PATH"])
      expect(printed).toMatch(new RegExp(`^ {4}export ${key}=`, "m"));
    expect(printed).toContain(`    export INFRA_DIR=${infraDir}\n`);
    // The token is only in the env file (0600), never on the screen.
    expect(printed).not.toMatch(/export BOT_TOKEN=/);

    // Only the exports: no ROTABOT_ENV_FILE, so the terminal has no bot token.
    const exported = afterExports(printed.replace(/^ {4}export ROTABOT_ENV_FILE=.*$/m, ""), terminal);
    const status = await runRotabot(["status"], exported, home);
    expect([status.code, status.stdout, status.stderr]).toEqual([0, "No rotation in flight.\n", ""]);
    expect(exported.VAULT_PASSWORD_FILE).toBe(path.join(root, "vault-pass.txt"));
    const doctor = await runRotabot(["doctor"], exported, home);
    expect(doctor.stdout).toContain("✔ vault password file: present, readable only by its owner");
    expect(doctor.stdout).toContain(`✔ STATE_DIR: ${exported.STATE_DIR} is writable`);
    expect([doctor.code, doctor.stdout]).toEqual([0, expect.stringContaining("All checks passed.") as string]);

    // With the env file too: the bot's token, so the audit channel hears a shell rotation.
    const withFile = afterExports(printed, terminal);
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes", "--as", "alice"], {
      ...withFile,
      INFRA_DIR: infraDir,
    });
    await shell.waitFor(/This cannot be undone[^]*Type yes to go on/, 480_000);
    shell.answer("yes");
    expect(await shell.exited, shell.output()).toBe(0);
    expect(shell.output()).not.toContain("was not told");
    expect(readFileSync(path.join(infraDir, "CHANGELOG.md"), "utf8")).toMatch(
      /rotated `vault_billing_api_token` \(rotation \S+, by alice \(as opsuser\)\)/,
    );
    const state = (await (await fetch(`${url}/api/state`)).json()) as {
      chats: { messages: { text: string }[] }[];
    };
    const everything = state.chats.flatMap((c) => c.messages.map((m) => m.text)).join("\n");
    expect(everything).toMatch(/vault_billing_api_token \[\S+\] ▶️ started by alice \(as opsuser\)/);

    sandbox.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
