import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Rotation } from "../../src/rotation/model.js";
import { SANDBOX_IDS, startStagingBox, type StagingBox } from "../../src/sandbox/start-staging-box.js";
import { textOf, walkRotation, type WalkOptions } from "../support/chat-driver.js";
import { PROJECT_ROOT } from "../support/paths.js";
import { pgLogin as pgLoginAt } from "../support/postgres-login.js";
import { leaks } from "../support/rotation-fixture.js";
import { runRotabot, spawnBot, type BotProcess } from "../support/run-rotabot.js";
import { decryptVault } from "../support/vault-fixture.js";

// Issue 23, compromise mode: the box (real PostgreSQL, real playbooks, the Sentry stand-in) rotates
// a leaked secret in its compromise order; the old value is proven refused before any re-deploy,
// and the exposure window is measured from the suspected leak to that proof.
const { rotabot: BOT, opsChat: OPS, auditChat: AUDIT, alice: ALICE } = SANDBOX_IDS;

let box: StagingBox;
let bot: BotProcess;
const secrets: string[] = [];

beforeAll(async () => {
  box = await startStagingBox({ packageRoot: PROJECT_ROOT, env: process.env });
  secrets.push(...Object.values(box.secrets), box.rotabotEnv.BOT_TOKEN!, readFileSync(box.passwordFile, "utf8").trim());
  bot = spawnBot(box.rotabotEnv, box.infraDir);
  await bot.ready();
}, 300_000);

afterAll(async () => {
  await bot?.stop();
  await box?.stop();
});

const walk = (command: string, extra: Partial<WalkOptions> = {}) =>
  walkRotation(command, {
    tg: box.telegram,
    botId: BOT,
    opsChat: OPS,
    operator: ALICE,
    promptTimeoutMs: 300_000,
    ...extra,
  });
const journal = (id: string) =>
  JSON.parse(readFileSync(path.join(box.rotabotEnv.STATE_DIR!, "rotations", `${id}.json`), "utf8")) as Rotation;
const record = (r: Rotation, id: string) => r.steps.find((s) => s.id === id)!;
const vaultValue = (key: string) =>
  new RegExp(`^${key}: "([^"]+)"$`, "m").exec(
    decryptVault(path.join(box.infraDir, "infra/group_vars/all/vault.yml"), box.passwordFile),
  )?.[1];
const opsTexts = () => box.telegram.messages(OPS, BOT).map(textOf);

/** What every compromise rotation reports: the exposure window in the chat, the audit, the CHANGELOG and history. */
async function expectReported(r: Rotation, key: string, reason: string): Promise<void> {
  expect(r.state).toBe("completed");
  expect(r.incident).toEqual({ reason });
  const completion = opsTexts().find((t) => t.startsWith("🏁 Rotation complete") && t.includes(key))!;
  expect(completion).toContain(`🚨 exposure window `);
  expect(completion).toContain(`until “${r.exposure!.by}” proved it refused at ${r.exposure!.to}`);
  await box.telegram.waitForMessage(
    (m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${r.id}] 🏁 completed`),
    15_000,
  );
  const audit = box.telegram.messages(AUDIT, BOT).map(textOf).join("\n");
  expect(audit).toMatch(new RegExp(`\\[${r.id}\\] ▶️ started by @alice .*incident.*🚨 suspected compromise`));
  expect(audit).toMatch(new RegExp(`\\[${r.id}\\] 🏁 completed .*🚨 exposure window`));
  const changelog = readFileSync(path.join(box.infraDir, "CHANGELOG.md"), "utf8");
  expect(changelog).toContain(
    `rotated \`${key}\` (rotation ${r.id}, by @alice); suspected compromise (${reason}), exposure window`,
  );
  const history = await runRotabot(["history", "--limit", "5"], box.rotabotEnv, box.infraDir);
  expect(history.code).toBe(0);
  expect(history.stdout).toContain(`${r.id}  ${key}  completed  by @alice`);
  expect(history.stdout).toContain(`🚨 suspected compromise (${reason}), compromise order; exposure window`);
}

describe("compromise mode in the box: the old value refused first, the window measured", { timeout: 900_000 }, () => {
  it("PostgreSQL: the new password first, the attacker's open session ended, the refusal proven before any re-deploy", async () => {
    const oldPassword = box.secrets.vault_postgres_app_password;
    // Someone holding the leaked password has a session open: a password change alone does not end it.
    const intruder = new pg.Client({
      host: box.postgres.host,
      port: box.postgres.port,
      user: "akira_app",
      password: oldPassword,
      database: "akira",
    });
    intruder.on("error", () => undefined);
    await intruder.connect();
    const reason = "password in a pasted log, INC-77";
    const { rotationId } = await walk(`/rotate postgres compromised ${reason} since 2h ago`, {
      startWith: "start",
    });
    const r = journal(rotationId);
    expect(r.compromise).toMatchObject({ reason, sinceGiven: true, order: "compromise" });
    // The refusal came before the re-deploys; the routine drain never ran.
    expect(r.steps.map((s) => s.id).slice(0, 6)).toEqual([
      "generate",
      "add_new",
      "compromise_outage",
      "alter_role_end_sessions",
      "old_password_refused",
      "login_new",
    ]);
    expect(r.steps.some((s) => s.id === "drain")).toBe(false);
    const refused = record(r, "old_password_refused");
    expect(refused.state).toBe("done");
    expect(Date.parse(refused.endedAt!)).toBeLessThanOrEqual(Date.parse(record(r, "deploy_backend").startedAt!));
    expect(record(r, "alter_role_end_sessions").message).toMatch(
      /[1-9]\d* session\(s\) opened with the old password ended/,
    );
    await expect(intruder.query("select 1")).rejects.toThrow(/terminat|connection error/i);
    await intruder.end().catch(() => undefined);
    // Measured from the suspected leak (two hours back) to the refusal check's end.
    expect(r.exposure).toMatchObject({ proven: true, to: refused.endedAt, by: refused.title });
    expect(Date.parse(r.exposure!.from)).toBeLessThan(Date.parse(r.createdAt) - 2 * 3_600_000 + 60_000);
    expect(r.exposure!.seconds).toBeGreaterThanOrEqual(7200);
    const newPassword = vaultValue("vault_postgres_app_password")!;
    secrets.push(newPassword);
    expect(await pgLoginAt(box.postgres, oldPassword)).toMatch(/^refused: password authentication failed/);
    expect(await pgLoginAt(box.postgres, newPassword)).toBe("akira_app");
    // The owner heard of the incident at its start, before the first step's card.
    const texts = opsTexts();
    const notice = texts.findIndex((t) =>
      t.startsWith("🚨 @backend-team: vault_postgres_app_password is suspected compromised"),
    );
    expect(notice).toBeGreaterThanOrEqual(0);
    await expectReported(r, "vault_postgres_app_password", reason);
  });

  it("Sentry: the old key disabled and refused before the deploys, without the policy confirmation", async () => {
    const dsn = box.sentry.createDsn();
    secrets.push(dsn);
    const old = box.secrets.vault_sentry_dsn;
    const reason = "DSN committed to a public repository";
    const plans: string[] = [];
    const { rotationId, prompts } = await walk(`/rotate sentry compromised ${reason}`, {
      token: () => dsn,
      beforeDone: (prompt) => {
        expect(prompt).toMatch(/disable or delete the old client key/);
        // The new DSN is in the vault, not yet deployed: the backend still sends with the old one.
        expect(readFileSync(path.join(box.servicesDir, "backend/sentry.env"), "utf8")).not.toContain(
          /\/\/([0-9a-f]+)@/.exec(dsn)![1]!,
        );
        box.sentry.disableKey(old);
      },
      beforeStart: () => {
        plans.push(...opsTexts().filter((t) => t.includes("Incident: suspected compromise")));
        return Promise.resolve();
      },
    });
    // The plan weighed both orders with the runbook's words.
    expect(plans.at(-1)).toContain("Costs: events of the backend and the workers are lost");
    expect(plans.at(-1)).toContain("Routine order");
    expect(prompts.some((p) => /Sentry project changed or organization policy/.test(p))).toBe(false);
    const r = journal(rotationId);
    expect(r.compromise).toMatchObject({ reason, sinceGiven: false, order: "compromise" });
    const refused = record(r, "old_dsn_refused");
    expect(Date.parse(refused.endedAt!)).toBeLessThanOrEqual(Date.parse(record(r, "deploy_backend").startedAt!));
    expect(r.exposure).toMatchObject({ proven: true, from: r.compromise!.since, to: refused.endedAt });
    expect(vaultValue("vault_sentry_dsn")).toBe(dsn);
    await expectReported(r, "vault_sentry_dsn", reason);
  });

  it("leaves no secret value in the chat, the journal, the CHANGELOG or git", async () => {
    const requests = JSON.stringify(box.telegram.calls.map((c) => [c.method, c.params]));
    const state = path.join(box.rotabotEnv.STATE_DIR!, "rotations");
    const history = await box.git("log", "-p", "--all");
    const texts = [requests, bot.output(), history, readFileSync(path.join(box.infraDir, "CHANGELOG.md"), "utf8")];
    for (const id of box.telegram
      .messages(OPS, BOT)
      .flatMap((m) => /rotation (\d{8}-\d{4}-[0-9a-f]{4})/.exec(textOf(m))?.[1] ?? []))
      texts.push(readFileSync(path.join(state, `${id}.json`), "utf8"));
    expect(leaks(texts.join("\n"), secrets)).toEqual([]);
  });
});
