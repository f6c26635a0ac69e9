import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/run-cli.js";
import { COMMAND_LINES, type CommandName } from "../../../src/cli/usage.js";
import { startFakeBotApi, type FakeBotApi } from "../../../src/sandbox/telegram/fake-bot-api.js";
import { makeInfraDir } from "../../support/infra-fixture.js";
import { PROJECT_ROOT } from "../../support/paths.js";

let tg: FakeBotApi;
let env: Record<string, string>;

beforeAll(async () => {
  tg = await startFakeBotApi();
  const { token } = tg.addBot({ id: 7001, username: "akira_rotabot" });
  tg.addGroup({ id: -1001000000001, title: "Akira Ops", members: [], bots: [7001] });
  const home = mkdtempSync(path.join(tmpdir(), "rotabot-home-"));
  // A complete, valid configuration: a command that ignored its arguments would really start.
  env = {
    HOME: home,
    STATE_DIR: path.join(home, "state"),
    BOT_TOKEN: token,
    TELEGRAM_API_ROOT: tg.url,
    OPS_CHAT_ID: "-1001000000001",
    OPERATOR_IDS: "101",
    INFRA_DIR: makeInfraDir("secrets_manifest: {}\n"),
    REMINDER_TIME: "off",
    LOG_LEVEL: "silent",
  };
});
afterAll(() => tg.close());

async function cli(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    env,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    packageRoot: PROJECT_ROOT,
    version: "0.0.0-test",
    now: () => new Date(),
    // Were the bot started anyway, it would stop at once instead of hanging the test.
    stopSignal: Promise.resolve("SIGTERM"),
  });
  return { code, stdout, stderr };
}

const commands = Object.keys(COMMAND_LINES) as CommandName[];
/** Positional arguments that satisfy a command, so the case tests only what it adds. */
const required = (command: CommandName) =>
  COMMAND_LINES[command].positionals.map((p) => ("oneOf" in p ? p.oneOf[0] : "20260101-1200-abcd"));

describe("every command checks its arguments before it does anything", () => {
  it.each(commands)("%s --help and -h print the usage and exit 0", async (command) => {
    for (const flag of ["--help", "-h"]) {
      const { code, stdout, stderr } = await cli([command, flag]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toBe(`${COMMAND_LINES[command].usage}\n`);
      expect(stdout.startsWith(`Usage: rotabot ${command}`)).toBe(true);
    }
  });

  it.each(commands)("%s refuses an unknown option with exit 2, one line naming it, and the usage", async (command) => {
    const { code, stdout, stderr } = await cli([command, ...required(command), "--unknown-flag"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`rotabot ${command}: unknown option "--unknown-flag"\n\n${COMMAND_LINES[command].usage}\n`);
  });

  it.each(commands)("%s refuses an extra argument with exit 2, naming it", async (command) => {
    const { code, stderr } = await cli([command, ...required(command), "please"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe(`rotabot ${command}: unexpected argument "please"`);
  });

  it("names a missing argument, a missing option value and a value given to a switch", async () => {
    expect((await cli(["rotate"])).stderr.split("\n")[0]).toBe("rotabot rotate: missing <secret|alias>");
    expect((await cli(["resume", "--infra", "/x"])).stderr.split("\n")[0]).toBe(
      "rotabot resume: missing <rotation-id>",
    );
    expect((await cli(["audit", "check"])).stderr.split("\n")[0]).toBe(
      'rotabot audit: unknown <subcommand> "check"; use verify or reseal',
    );
    expect((await cli(["age", "--infra"])).stderr.split("\n")[0]).toBe("rotabot age: --infra needs a value");
    expect((await cli(["age", "--infra", "--json"])).stderr.split("\n")[0]).toMatch(
      /^rotabot age: --infra needs a value/,
    );
    const switched = await cli(["doctor", "--json=yes"]);
    expect([switched.code, switched.stderr.split("\n")[0]]).toEqual([2, "rotabot doctor: --json takes no value"]);
    const pasted = await cli(["status", "x".repeat(5000)]);
    expect(pasted.stderr.split("\n")[0]!.length).toBeLessThan(120);
  });

  it("never reaches Telegram for start --help or start with a bad argument", async () => {
    for (const argv of [
      ["start", "--help"],
      ["start", "--unknown-flag"],
      ["start", "now"],
      ["start", "-h"],
    ]) {
      await cli(argv);
    }
    expect(tg.calls.map((c) => c.method)).toEqual([]);
  });

  it("refuses an incident reason longer than the audit line can carry", async () => {
    const { code, stderr } = await cli(["rotate", "telegram", "--incident", "x".repeat(1000)]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^rotabot rotate: the incident reason is 1000 characters; keep it to 200/);
  });
});
