import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Rotation } from "../../src/model/rotation.js";
import { SANDBOX_IDS, startStagingBox, type StagingBox } from "../../src/sandbox/start-staging-box.js";
import { buttonsOf, textOf, walkRotation, type WalkOptions } from "../support/chat-driver.js";
import { PROJECT_ROOT } from "../support/paths.js";
import { pgLogin as pgLoginAt } from "../support/postgres-login.js";
import { leaks } from "../support/rotation-fixture.js";
import { runRotabot, spawnBot, type BotProcess } from "../support/run-rotabot.js";
import { decryptVault } from "../support/vault-fixture.js";

// Issue 23, compromise mode: the box (real PostgreSQL, real playbooks, the Sentry stand-in) rotates
// a leaked secret in its compromise order; the old value is proven refused before any re-deploy,
// and the exposure window is measured from the suspected leak to that proof. Its last rotation
// test is a rotation day on the same box (issue 23's other half).
const { rotabot: BOT, notifyBot: NOTIFY_BOT, opsChat: OPS, auditChat: AUDIT, alice: ALICE } = SANDBOX_IDS;

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
const vaultPlain = () => decryptVault(path.join(box.infraDir, "infra/group_vars/all/vault.yml"), box.passwordFile);
const vaultValue = (key: string) => new RegExp(`^${key}: "([^"]+)"$`, "m").exec(vaultPlain())?.[1];
const opsTexts = () => box.telegram.messages(OPS, BOT).map(textOf);

/** The old value was proven refused (the window closed there) before the first deploy started. */
function expectRefusedBefore(r: Rotation, refusedId: string, deployId: string): void {
  const refused = record(r, refusedId);
  expect(refused.state).toBe("done");
  expect(Date.parse(refused.endedAt!)).toBeLessThanOrEqual(Date.parse(record(r, deployId).startedAt!));
  expect(r.exposure).toMatchObject({ proven: true, to: refused.endedAt, by: refused.title });
}
const repoStatus = (token: string) =>
  fetch(`${box.repository.url}/dists/bookworm/Release`, {
    headers: { Authorization: `Basic ${Buffer.from(`signalwire:${token}`).toString("base64")}` },
  }).then((r) => r.status);
const getMe = (token: string) => fetch(`${box.telegram.url}/bot${token}/getMe`).then((r) => ({ status: r.status }));

/** What every compromise rotation reports: the exposure window in the chat, the audit, the CHANGELOG and history. */
async function expectReported(r: Rotation, key: string, reason: string): Promise<void> {
  expect(r.state).toBe("completed");
  expect(r.incident).toEqual({ reason });
  const completion = opsTexts().find((t) => t.startsWith("🏁 Rotation complete") && t.includes(key))!;
  expect(completion).toContain(`🚨 exposure window `);
  // The outage measured in the box's one environment, where the order cuts a service off (not the API token's).
  if (key === "vault_billing_api_token") expect(completion).not.toContain("outage per environment");
  else
    expect(completion).toMatch(
      /outage per environment \(from the break of the old credential to the end of the last re-deploy there\): staging \d/,
    );
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
  // The post-mortem's timeline: in time order, each decision with who made it, the refusal, the end.
  const timeline = await runRotabot(["timeline", r.id, "--markdown"], box.rotabotEnv, box.infraDir);
  expect(timeline.code).toBe(0);
  const rows = timeline.stdout.split("\n").filter((l) => l.startsWith("| 20"));
  const times = rows.map((l) => l.split(" | ")[0]);
  expect(times).toEqual([...times].sort());
  expect(rows.some((l) => l.includes(`started: suspected compromise (${reason}), compromise order | @alice |`))).toBe(
    true,
  );
  expect(rows.some((l) => / \| @alice \|$/.test(l) && !l.includes("started"))).toBe(true);
  const refusedAt = rows.findIndex((l) => l.includes("old value proven refused everywhere"));
  expect(refusedAt).toBeGreaterThan(0);
  expect(rows.at(-1)).toMatch(/rotation completed/);
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
    expectRefusedBefore(r, "old_password_refused", "deploy_backend");
    expect(record(r, "alter_role_end_sessions").message).toMatch(
      /[1-9]\d* session\(s\) opened with the old password ended/,
    );
    await expect(intruder.query("select 1")).rejects.toThrow(/terminat|connection error/i);
    await intruder.end().catch(() => undefined);
    // Measured from the suspected leak (two hours back) to the refusal check's end.
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
    // Failing, it says what became of the notice: its calls to Telegram, and what the bot logged about the chat.
    expect(
      notice,
      JSON.stringify({
        calls: box.telegram.calls
          .filter((c) => JSON.stringify(c.params.text ?? "").includes("suspected compromised"))
          .map(({ method, status, description, at }) => ({ method, status, description, at })),
        log: bot
          .output()
          .split("\n")
          .filter((l) => /could not update the chat|listener failed|"level":(4|5)0/.test(l)),
      }),
    ).toBeGreaterThanOrEqual(0);
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
    expectRefusedBefore(r, "old_dsn_refused", "deploy_backend");
    expect(r.exposure!.from).toBe(r.compromise!.since);
    expect(vaultValue("vault_sentry_dsn")).toBe(dsn);
    await expectReported(r, "vault_sentry_dsn", reason);
    // The same timeline in the chat, as a Markdown file.
    const documents = box.telegram.documents().length;
    box.telegram.userSends({ from: ALICE, chat: OPS, text: `/timeline ${rotationId}` });
    await expect.poll(() => box.telegram.documents().length, { timeout: 30_000 }).toBe(documents + 1);
    const file = box.telegram.documents().at(-1)!;
    expect(file.filename).toBe(`timeline-${rotationId}.md`);
    expect(file.content.toString("utf8")).toContain(`## Timeline: rotation ${rotationId} of \`vault_sentry_dsn\``);
  });

  it("SignalWire: the old PAT revoked and refused before the signaling deploy", async () => {
    const oldToken = box.secrets.vault_signalwire_token;
    const pat = box.repository.createToken();
    secrets.push(pat);
    const reason = "PAT in a screenshot, INC-78";
    const { rotationId } = await walk(`/rotate signalwire compromised ${reason}`, {
      token: () => pat,
      beforeDone: (prompt) => {
        expect(prompt).toMatch(/revoke the old token/);
        // FreeSWITCH still has the old token: the deploy comes after the refusal.
        expect(readFileSync(path.join(box.servicesDir, "freeswitch/auth.conf"), "utf8")).not.toContain(pat);
        box.repository.revokeToken(oldToken);
      },
    });
    const r = journal(rotationId);
    expectRefusedBefore(r, "old_token_refused", "deploy_signaling");
    expect(await repoStatus(oldToken)).toBe(401);
    expect(await repoStatus(pat)).toBe(200);
    await expectReported(r, "vault_signalwire_token", reason);
  });

  it("NATS: the config lists the new user alone from the first reload; an intruder on the old password is cut off", async () => {
    const oldPassword = box.secrets.vault_nats_password;
    const intruder = await connect({ servers: box.nats.url, user: "akira", pass: oldPassword, reconnect: false });
    const reason = "password in a CI log, INC-79";
    const { rotationId, prompts } = await walk(`/rotate nats compromised ${reason}`);
    expect(prompts.some((p) => p.includes("still logged in as the old user"))).toBe(false);
    const r = journal(rotationId);
    expect(r.steps.some((s) => s.id === "accept_both")).toBe(false);
    expectRefusedBefore(r, "old_refused", "deploy_cdr_worker");
    await intruder.closed();
    const newPassword = vaultValue("vault_nats_password")!;
    secrets.push(newPassword);
    await expect(
      connect({ servers: box.nats.url, user: "akira", pass: oldPassword, reconnect: false }),
    ).rejects.toThrow(/Authorization Violation/i);
    await expectReported(r, "vault_nats_password", reason);
  });

  it("Telegram: the routine revoke-first order, with the old token's 401 proven before the deploy", async () => {
    const oldToken = box.secrets.vault_telegram_bot_token;
    let newToken = "";
    const reason = "token leaked in a bot framework issue";
    const { rotationId } = await walk(`/rotate telegram compromised ${reason}`, {
      beforeDone: () => {
        newToken = box.telegram.issueNewToken(NOTIFY_BOT);
        secrets.push(newToken);
      },
      token: () => newToken,
    });
    const r = journal(rotationId);
    expectRefusedBefore(r, "old_token_dead", "deploy_notifications");
    expect(r.outage?.what).toBe("the notification bot");
    expect((await getMe(oldToken)).status).toBe(401);
    await expectReported(r, "vault_telegram_bot_token", reason);
  });

  it("API token: the gateway drops the old token as soon as every client has the new one", async () => {
    const old = box.secrets.vault_billing_api_token;
    const reason = "token in a public gist";
    const { rotationId } = await walk(`/rotate api-token compromised ${reason}`);
    const r = journal(rotationId);
    expect(r.steps.some((s) => s.id === "verify_new")).toBe(false);
    expect(record(r, "drop_old").state).toBe("done");
    expect(r.exposure).toMatchObject({ proven: true, to: record(r, "drop_old").endedAt });
    const token = vaultValue("vault_billing_api_token")!;
    secrets.push(token);
    expect(await box.apiGateway.status("vault_billing_api_token", old)).toBe(401);
    expect(await box.apiGateway.status("vault_billing_api_token", token)).toBe(200);
    await expectReported(r, "vault_billing_api_token", reason);
  });

  // Issue 23's rotation day, on the same box (its start is the costly part): two secrets made due
  // again, the PAT given up front in the private chat, one injected failure (the repository
  // refuses that PAT) that stops the SignalWire rotation alone, while the API token completes.
  it("a rotation day takes the due secrets through with one Start: a failure stops that one, the rest complete", async () => {
    const manifestFile = path.join(box.infraDir, "infra/group_vars/all/_secrets_manifest.yml");
    let manifest = readFileSync(manifestFile, "utf8");
    for (const key of ["vault_signalwire_token", "vault_billing_api_token"])
      manifest = manifest.replace(
        new RegExp(`(  ${key}:\\n(?:    .*\\n)*?    last_rotation: )\\d{4}-\\d{2}-\\d{2}\\n`),
        (_, head: string) => `${head}2025-01-01\n`,
      );
    writeFileSync(manifestFile, manifest);
    await box.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "two secrets due again");
    // A PAT of the right shape that the repository does not accept (created, then revoked at once).
    const pat = box.repository.createToken();
    box.repository.revokeToken(pat);
    secrets.push(pat);
    const billingBefore = vaultValue("vault_billing_api_token")!;
    const before = Math.max(0, ...box.telegram.messages(OPS).map((m) => m.message.message_id));
    box.telegram.userSends({ from: ALICE, chat: OPS, text: "/rotate due" });
    const plan = await box.telegram.waitForMessage(
      (m) => m.botId === BOT && m.message.message_id > before && buttonsOf(m).some((b) => /^day\|.*\|start$/.test(b)),
      60_000,
    );
    expect([...textOf(plan).matchAll(/^\d\. (\S+) /gm)].map((m) => m[1])).toEqual([
      "vault_signalwire_token",
      "vault_billing_api_token",
    ]);
    const privateBefore = Math.max(0, ...box.telegram.messages(ALICE, BOT).map((m) => m.message.message_id));
    box.telegram.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: plan.message.message_id,
      data: buttonsOf(plan).find((b) => b.endsWith("|start"))!,
    });
    await box.telegram.waitForMessage(
      (m) =>
        m.botId === BOT &&
        m.message.chat.id === ALICE &&
        m.message.message_id > privateBefore &&
        textOf(m).includes(": vault_signalwire_token\n"),
      60_000,
    );
    box.telegram.userSends({ from: ALICE, chat: "private", text: pat });
    // Each card as the operator answers it: the failure is aborted (the day skips it), the PAT left unused is revoked.
    const handled = new Set<number>();
    for (;;) {
      const next = await box.telegram.waitForMessage((m) => {
        if (m.botId !== BOT || m.deleted || handled.has(m.message.message_id) || m.message.message_id <= before)
          return false;
        if (m.message.chat.id === OPS && textOf(m).startsWith("🏁 Rotation day")) return true;
        return m.message.chat.id === OPS && buttonsOf(m).some((b) => b.startsWith("rt|"));
      }, 300_000);
      handled.add(next.message.message_id);
      if (textOf(next).startsWith("🏁 Rotation day")) break;
      const buttons = buttonsOf(next);
      const press = (action: string) =>
        box.telegram.pressButton({
          from: ALICE,
          chat: OPS,
          messageId: next.message.message_id,
          data: buttons.find((b) => b.endsWith(`|${action}`))!,
        });
      if (buttons.some((b) => b.endsWith("|a"))) press("a");
      else if (buttons.some((b) => b.endsWith("|x"))) press("x");
      else if (buttons.some((b) => b.endsWith("|g"))) press("g");
      else if (buttons.some((b) => b.endsWith("|d"))) press("d");
      else throw new Error(`unexpected card: ${textOf(next)}`);
    }
    const summary = box.telegram
      .messages(OPS, BOT)
      .filter((m) => textOf(m).startsWith("🏁 Rotation day"))
      .at(-1)!;
    expect(textOf(summary)).toMatch(
      /^🏁 Rotation day day-\S+: 1 of 2 rotated; 1 still due[^\n]*\n⤼ vault_signalwire_token: skipped in \d+\.\d min \(rotation \S+\): [^\n]+\n✅ vault_billing_api_token: completed in \d+\.\d min \(rotation \S+\)$/,
    );
    // The failed one is rolled back on the real estate; the completed one is live there.
    expect(vaultPlain()).not.toMatch(/_new:/);
    expect(vaultValue("vault_signalwire_token")).not.toBe(pat);
    const billing = vaultValue("vault_billing_api_token")!;
    secrets.push(billing);
    expect(billing).not.toBe(billingBefore);
    expect(await box.apiGateway.status("vault_billing_api_token", billingBefore)).toBe(401);
    expect(await box.apiGateway.status("vault_billing_api_token", billing)).toBe(200);
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
