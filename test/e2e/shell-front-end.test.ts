import { mkdirSync, mkdtempSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { textOf } from "../support/chat-driver.js";
import { makeRotationInfra, OLD_BILLING, startShell, type RotationInfra } from "../support/rotation-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";

const rotationIdOf = (output: string) =>
  /Rotation (\d{8}-\d{4}-[0-9a-f]{4}) started/.exec(output)?.[1] ?? expect.fail(`no rotation id in:\n${output}`);
const valueOf = (infra: RotationInfra, key: string) =>
  new RegExp(`^${key}: "([^"]+)"$`, "m").exec(infra.vaultPlain())?.[1];
/** The process ended by itself within `ms` (the test fails instead of hanging when it ignores a signal). */
const endsWithin = (exited: Promise<number | null>, ms: number) =>
  Promise.race([exited, new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), ms))]);

const AUDIT = -1_002_000_000_002;
const BOT_ID = 7_000_001;
let tg: FakeBotApi;
let token: string;
beforeAll(async () => {
  tg = await startFakeBotApi();
  token = tg.addBot({ id: BOT_ID, username: "akira_rotabot" }).token;
  tg.addGroup({ id: AUDIT, title: "Akira Audit", type: "channel", members: [], bots: [BOT_ID], adminBots: [BOT_ID] });
});
afterAll(async () => {
  await tg?.close();
});

describe("the shell as a front end of its own (issue 22, point 7)", { timeout: 90_000 }, () => {
  it("`--as alice` names alice beside the account in the CHANGELOG, the commit and the audit; the audit channel hears the rotation", async () => {
    const infra = makeRotationInfra();
    const env = { ...infra.env, BOT_TOKEN: token, TELEGRAM_API_ROOT: tg.url, AUDIT_CHAT_ID: String(AUDIT) };
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes", "--as", "alice"], env);
    await shell.waitFor(/Type yes to go on/);
    shell.answer("yes");
    expect(await shell.exited).toBe(0);
    const id = rotationIdOf(shell.output());
    const today = new Date().toISOString().slice(0, 10);
    expect(infra.read("CHANGELOG.md")).toContain(
      `- ${today}: rotated \`vault_billing_api_token\` (rotation ${id}, by alice (as opsuser))\n`,
    );
    expect(infra.git("log", "-1", "--format=%B")).toContain(`Rotation ${id} by alice (as opsuser).`);
    const audit = readFileSync(path.join(infra.stateDir, "audit.jsonl"), "utf8");
    expect(audit).toContain('"type":"rotation_started"');
    expect(audit).toContain('"by":"alice (as opsuser)"');
    const channel = tg.messages(AUDIT).map(textOf).join("\n");
    expect(channel).toContain(`vault_billing_api_token [${id}] ▶️ started by alice (as opsuser) in staging`);
    expect(channel).toContain(`vault_billing_api_token [${id}] 🏁 completed`);
    expect(shell.output()).not.toContain("was not told");

    const refused = await runRotabot(["rotate", "vault_reports_api_token", "--as", "alice\n- forged line"], env);
    expect([refused.code, refused.stderr]).toEqual([
      2,
      expect.stringMatching(/^rotabot rotate: --as takes the name of the person at the keyboard/) as string,
    ]);
  });

  it("without a usable bot token the shell still rotates, ages and lists, and says once that the audit channel was not told", async () => {
    const infra = makeRotationInfra();
    // A malformed bot_token credential (issue 25, item 10) used to stop every command with exit 2.
    const credentials = mkdtempSync(path.join(tmpdir(), "rotabot-credentials-"));
    writeFileSync(path.join(credentials, "bot_token"), "not-a-token\n", { mode: 0o400 });
    const env = { ...infra.env, CREDENTIALS_DIRECTORY: credentials, AUDIT_CHAT_ID: String(AUDIT) };
    const age = await runRotabot(["age", "--exit-zero"], env, infra.infraDir);
    expect([age.code, age.stderr]).toEqual([
      0,
      expect.stringMatching(/^2 secret\(s\) overdue or never rotated/) as string,
    ]);
    expect(age.stdout).toContain("vault_billing_api_token");
    const status = await runRotabot(["status"], env, infra.infraDir);
    expect([status.code, status.stdout, status.stderr]).toEqual([0, "No rotation in flight.\n", ""]);
    const doctor = await runRotabot(["doctor"], env, infra.infraDir);
    expect(doctor.stdout).toContain(
      `✘ telegram: not checked: the systemd credential ${credentials}/bot_token does not look like a bot token`,
    );

    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], env);
    await shell.waitFor(/Type yes to go on/);
    shell.answer("yes");
    expect(await shell.exited).toBe(0);
    expect(valueOf(infra, "vault_billing_api_token")).not.toBe(OLD_BILLING);
    const notTold = shell.output().match(/the audit channel was not told[^\n]*/g) ?? [];
    expect(notTold).toEqual([
      `the audit channel was not told of this command's 3 audit lines: BOT_TOKEN cannot be used (the systemd credential ${credentials}/bot_token does not look like a bot token (digits, a colon, 30+ letters): store the token from @BotFather in it again (docs/deploy.md, rotating rotabot's own token)). Every line is in ${infra.stateDir}/audit.jsonl; tell the team yourself`,
    ]);
    expect(shell.output()).not.toContain("not-a-token");
  });

  it("SIGTERM at a prompt ends rotate at once with the resume command; resume continues; SIGINT before Start starts nothing", async () => {
    const infra = makeRotationInfra();
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await shell.waitFor(/Remove the old secret and rename _new\. This cannot be undone[^]*Type yes to go on/);
    const id = rotationIdOf(shell.output());
    shell.child.kill("SIGTERM");
    expect(await endsWithin(shell.exited, 20_000)).toBe(1);
    expect(shell.output()).toContain(
      `Stopped by SIGTERM; nothing was answered. Rotation ${id} is waiting for an answer; continue with: rotabot resume ${id}`,
    );
    expect(valueOf(infra, "vault_billing_api_token_new")).toBeDefined();

    const resumed = startShell(["resume", id], infra.env);
    await resumed.waitFor(/Remove the old secret and rename _new\. This cannot be undone[^]*Type yes to go on/);
    resumed.answer("yes");
    expect(await resumed.exited).toBe(0);
    expect(valueOf(infra, "vault_billing_api_token")).not.toBe(OLD_BILLING);
    expect(valueOf(infra, "vault_billing_api_token_new")).toBeUndefined();

    const asked = startShell(["rotate", "vault_reports_api_token"], infra.env);
    await asked.waitFor(/Start this rotation\? Type yes: /);
    asked.child.kill("SIGINT");
    expect(await endsWithin(asked.exited, 20_000)).toBe(1);
    expect(asked.output()).toContain("Stopped by SIGINT. Not started.");
    expect((await runRotabot(["status"], infra.env, infra.infraDir)).stdout).toBe("No rotation in flight.\n");
  });

  it("a journal that cannot be written ends rotate with one line naming the file and the fix; status reads what it can; resume goes on once fixed", async () => {
    const infra = makeRotationInfra();
    infra.touch("pause-verify");
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await expect.poll(() => infra.exists("paused-verify"), { timeout: 30_000 }).toBe(true);
    const id = rotationIdOf(shell.output());
    const journal = path.join(infra.stateDir, "rotations", `${id}.json`);
    const blocked = path.join(infra.stateDir, "rotations", `.${id}.json.tmp`);
    // The engine may be between writing and renaming that very file (a journal write in flight): take
    // the path once it is free.
    const block = () => {
      try {
        mkdirSync(blocked);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw error;
      }
    };
    await expect.poll(block, { timeout: 10_000, interval: 20 }).toBe(true);
    infra.releasePaused("verify");
    expect(await endsWithin(shell.exited, 30_000)).toBe(1);
    const line = `cannot write the journal of rotation ${id} (${journal}): ${blocked} is a folder. Fix: move it away (mv ${blocked} ${blocked}.moved), after looking at what is in it, then rotabot resume ${id} (rotabot status shows where it stands)`;
    expect(shell.output()).toContain(`✘ ${line}\n`);
    expect(shell.output()).not.toMatch(/^\s+at /m);

    const status = await runRotabot(["status"], infra.env, infra.infraDir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`⚠ ${line}\n`);
    expect(status.stdout).toContain(`${id}  vault_billing_api_token  running  by opsuser`);
    expect(status.stderr).not.toMatch(/^\s+at /m);

    renameSync(blocked, `${blocked}.moved`);
    const resumed = startShell(["resume", id], infra.env);
    await resumed.waitFor(/Type yes to go on/);
    resumed.answer("yes");
    expect(await resumed.exited).toBe(0);
    expect(valueOf(infra, "vault_billing_api_token")).not.toBe(OLD_BILLING);
  });

  it("when two shell rotations race, the loser is told which rotation holds the vault, not that a deploy runs", async () => {
    const infra = makeRotationInfra();
    // The deploy guard of the first `rotate` to run it waits until the test lets it go: that one
    // loses the race, having checked everything else before the other took the vault.
    const runbook = readFileSync(infra.env.RUNBOOK_FILE, "utf8").replace(
      `argv: [sh, -c, 'test ! -e "$DEPLOY_MARKER"']`,
      `argv: [sh, -c, 'if mv pause-guard paused-guard 2>/dev/null; then while [ -e paused-guard ]; do sleep 0.1; done; fi; test ! -e "$DEPLOY_MARKER"']\n  timeout: 10m`,
    );
    const runbookFile = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-runbook-")), "runbook.yml");
    writeFileSync(runbookFile, runbook);
    const env = { ...infra.env, RUNBOOK_FILE: runbookFile };
    infra.touch("pause-guard");
    infra.touch("pause-cycle");
    const loser = startShell(["rotate", "vault_reports_api_token", "--yes"], env);
    await expect.poll(() => infra.exists("paused-guard"), { timeout: 30_000 }).toBe(true);
    const winner = startShell(["rotate", "vault_billing_api_token", "--yes"], env);
    await expect.poll(() => infra.exists("paused-cycle"), { timeout: 30_000 }).toBe(true);
    const id = rotationIdOf(winner.output());
    unlinkSync(path.join(infra.infraDir, "paused-guard"));
    expect(await loser.exited).toBe(1);
    expect(loser.output()).toContain(
      `rotation ${id} of vault_billing_api_token (by opsuser) is in flight and has changed the vault`,
    );
    expect(loser.output()).not.toContain("a deploy seems to be running");
    process.kill(-winner.child.pid!, "SIGKILL");
  });

  it("refuses a name with a look-alike character instead of resolving it (the Kelvin sign lowercases to k)", async () => {
    const infra = makeRotationInfra();
    const kelvin = await runRotabot(["rotate", "vault_billing_api_to\u212Aen"], infra.env, infra.infraDir);
    expect(kelvin.code).toBe(2);
    expect(kelvin.stderr).toContain(
      'no procedure for "vault_billing_api_to\u212Aen": it holds U+212A, which is not a plain ASCII letter, digit, "_" or "-" (it may only look like one); type the name in ASCII',
    );
    expect(kelvin.stdout).not.toContain("Plan:");
  });
});
