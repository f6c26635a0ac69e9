import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { buttonsOf, textOf } from "../support/chat-driver.js";
import { OLD_VALUES } from "../support/chat-fixture.js";
import {
  ALICE,
  AUDIT,
  BOB,
  BOT,
  MALLORY,
  NOTIFY_BOT,
  OPS,
  startChatWorld,
  type ChatWorld,
} from "../support/chat-world.js";
import { everythingWritten, leaks } from "../support/rotation-fixture.js";

let world: ChatWorld;
let tg: ChatWorld["tg"];
let infra: ChatWorld["infra"];
const secrets: string[] = [];
const today = new Date().toISOString().slice(0, 10);
const walk = (command: string, extra: Parameters<ChatWorld["walk"]>[1] = {}) => world.walk(command, extra);
const auditText = () => world.auditText();

function expectRotated(key: string, expected?: string) {
  const plain = infra.vaultPlain();
  expect(plain).not.toContain(`${key}_new`);
  const value = world.valueOf(key)!;
  if (expected !== undefined) expect(value).toBe(expected);
  expect(value).not.toBe((OLD_VALUES as Record<string, string>)[key]);
  secrets.push(value);
  const manifest = readFileSync(path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"), "utf8");
  expect(manifest).toMatch(new RegExp(`${key}: \\{[^}]*last_rotation: ${today}`));
  expect(readFileSync(path.join(infra.infraDir, "CHANGELOG.md"), "utf8")).toMatch(
    new RegExp(`rotated \`${key}\` \\(rotation \\S+, by @alice\\)`),
  );
  expect(infra.git("status", "--porcelain")).toBe("");
  return value;
}

async function expectAudit(rotationId: string, key: string, owner: string) {
  await tg.waitForMessage(
    (m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${rotationId}] 🏁 completed`),
    15_000,
  );
  const lines = auditText()
    .split("\n")
    .filter((l) => l.includes(`[${rotationId}]`));
  expect(lines[0]).toMatch(new RegExp(`${key} \\[${rotationId}\\] ▶️ started by @alice in staging`));
  expect(lines.some((l) => /👆 .*: confirmed by @alice/.test(l))).toBe(true);
  // Routine steps (the smoke test among them) are in the audit log, not the channel.
  expect(lines.some((l) => /Post-rotation smoke test/.test(l))).toBe(false);
  expect(
    lines.some((l) => /🏁 completed in [\d.]+ min; manifest updated, CHANGELOG updated, commit [0-9a-f]{7}/.test(l)),
  ).toBe(true);
  expect(lines.some((l) => l.includes(`✉️ ${owner}: ${key} was rotated`))).toBe(true);
}

beforeAll(async () => {
  world = await startChatWorld();
  ({ tg, infra } = world);
  secrets.push(...world.secrets);
  await world.startBot();
}, 60_000);

afterAll(() => world?.stop());

describe("chat walkthroughs with the shipped runbook (fixture commands)", { timeout: 90_000 }, () => {
  it("rotates the Telegram bot token: outage confirmed, then the operator's revoke, the new token, deploy, test alert in the ops chat, 401 check", async () => {
    let newToken = "";
    const { rotationId, prompts } = await walk("/rotate telegram", {
      // BotFather's /revoke, done only at the card that asks for it, before pressing "I revoked it".
      beforeDone: (prompt) => {
        expect(prompt).toContain("In @BotFather send /revoke");
        newToken = tg.issueNewToken(NOTIFY_BOT);
        secrets.push(newToken);
      },
      token: () => newToken,
    });
    const outage = prompts.findIndex((p) => p.includes("the notification bot is down"));
    const revoke = prompts.findIndex((p) => p.includes("In @BotFather send /revoke"));
    const asked = prompts.findIndex((p) => p.startsWith("🔑"));
    expect(outage).toBeGreaterThanOrEqual(0);
    expect(outage).toBeLessThan(revoke);
    expect(revoke).toBeLessThan(asked);
    expect(prompts[revoke]).toMatch(/the old one stopped working at that moment/);
    // No step asks anyone to revoke anything after the deploy: that would revoke the new token.
    expect(prompts.slice(asked + 1).some((p) => /revoke/i.test(p))).toBe(false);
    expect(tg.calls.some((c) => c.method === "getMe" && c.status === 401)).toBe(true);
    expectRotated("vault_telegram_bot_token", newToken);
    await expectAudit(rotationId, "vault_telegram_bot_token", "@alerts-oncall");
    // The test alert goes where the team's alerts go (OPS_CHAT_ID without chat_id in the runbook), not the audit channel.
    expect(
      tg
        .messages(OPS)
        .filter((m) => m.botId === NOTIFY_BOT)
        .map(textOf),
    ).toEqual(["Test alert from rotabot: sent with the notification bot's new token."]);
    expect(tg.messages(AUDIT).some((m) => m.botId === NOTIFY_BOT)).toBe(false);
    // The outage is measured from the operator's "I revoked it" to the end of the deploy (its getMe), and says so.
    const complete = tg.messages(OPS, BOT).find((m) => textOf(m).startsWith("🏁") && textOf(m).includes("telegram"))!;
    expect(textOf(complete)).toMatch(
      /⏱ the notification bot was down for \d+\.\d s \(measured from “Revoke the old token in @BotFather \(the outage starts\)” to the end of “Deploy the notification owner service”\)\./,
    );
    const pasted = tg.messages(ALICE, BOT).find((m) => m.message.text === newToken);
    expect(pasted?.deleted).toBe(true);
    expect(
      tg.messages(ALICE, BOT).some((m) => m.botId === BOT && textOf(m).includes(`ends in …${newToken.slice(-4)}`)),
    ).toBe(true);
    const request = tg
      .messages(ALICE, BOT)
      .find((m) => m.botId === BOT && textOf(m).startsWith("🔑") && textOf(m).includes(rotationId))!;
    expect(buttonsOf(request)).toEqual([]);
    expect(textOf(request)).toMatch(/\n\n🔑 Value sent by @alice$/);
  });

  it("rotates the SignalWire PAT", async () => {
    const pat = `PT${randomBytes(24).toString("hex")}`;
    secrets.push(pat);
    const { rotationId } = await walk("/rotate signalwire", { token: () => pat });
    expectRotated("vault_signalwire_token", pat);
    await expectAudit(rotationId, "vault_signalwire_token", "@voice-team");
  });

  it("rotates the PostgreSQL app password: maintenance window confirmed, ALTER USER rolled back on abort, promote confirmed", async () => {
    const { rotationId, prompts } = await walk("/rotate postgres");
    // ALTER ROLE is undone by an abort (the role gets the old password back): only the rename cannot be.
    expect(prompts.filter((p) => p.includes("This cannot be undone"))).toHaveLength(1);
    expect(prompts.some((p) => p.includes("maintenance window"))).toBe(true);
    expect(expectRotated("vault_postgres_app_password")).toMatch(/^[A-Za-z0-9]{32}$/);
    await expectAudit(rotationId, "vault_postgres_app_password", "@backend-team");
  });

  it("rotates the NATS password", async () => {
    const { rotationId } = await walk("/rotate nats");
    expectRotated("vault_nats_password");
    await expectAudit(rotationId, "vault_nats_password", "@platform-team");
  });

  it("rotates the Sentry DSN only after the policy reason is confirmed", async () => {
    const dsn = `https://${randomBytes(16).toString("hex")}@o1.ingest.sentry.io/4242`;
    secrets.push(dsn);
    const { rotationId, prompts } = await walk("/rotate sentry", { token: () => dsn });
    expect(prompts[0]).toMatch(/not passwords/);
    expectRotated("vault_sentry_dsn", dsn);
    await expectAudit(rotationId, "vault_sentry_dsn", "@backend-team");
  });

  it("rotates an API token through the general rolling procedure", async () => {
    const { rotationId } = await walk("/rotate api-token");
    expectRotated("vault_billing_api_token");
    await expectAudit(rotationId, "vault_billing_api_token", "@billing-team");
  });

  it("refuses Confirm from a stranger and from another operator, audits both; a double press runs the step once", async () => {
    let pressed = false;
    const { rotationId } = await walk("/rotate vault_billing_api_token", {
      onPrompt: (prompt) => {
        const confirm = buttonsOf(prompt).find((b) => b.endsWith("|g"));
        if (!confirm || pressed) return;
        pressed = true;
        for (const from of [MALLORY, BOB])
          tg.pressButton({ from, chat: OPS, messageId: prompt.message.message_id, data: confirm });
        tg.pressButton({ from: ALICE, chat: OPS, messageId: prompt.message.message_id, data: confirm });
        tg.pressButton({ from: ALICE, chat: OPS, messageId: prompt.message.message_id, data: confirm });
        return false;
      },
    });
    const answers = tg.calls
      .filter((c) => c.method === "answerCallbackQuery")
      .map((c) => (typeof c.params.text === "string" ? c.params.text : ""));
    expect(answers).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^⛔ Only rotabot operators can use this bot/),
        "Only @alice, who started this rotation, can answer.",
        expect.stringMatching(/no longer current|a step is running/),
      ]),
    );
    await tg.waitForMessage(
      (m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${rotationId}] 🏁 completed`),
      15_000,
    );
    expect(auditText()).toMatch(
      /⛔ Refused: mallory @mallory \(id 666\) tried a button press in supergroup “Akira Ops”/,
    );
    expect(auditText()).toContain(
      `[${rotationId}] ⛔ button press by bob @bob (id 102) refused: Only @alice, who started this rotation, can answer.`,
    );
    const journal = JSON.parse(readFileSync(path.join(infra.stateDir, "rotations", `${rotationId}.json`), "utf8")) as {
      steps: { id: string; attempts: number }[];
    };
    expect(journal.steps.find((s) => s.id === "promote")!.attempts).toBe(1);
  });

  it("answers a second operator's /age and /status at once while a long command runs, which runs once", async () => {
    const cyclesBefore = infra.calls().filter((c) => c === "cycle_services").length;
    infra.touch("pause-cycle_services");
    const walking = walk("/rotate api-token");
    await expect.poll(() => infra.exists("paused-cycle_services"), { timeout: 20_000 }).toBe(true);
    tg.userSends({ from: BOB, chat: OPS, text: "/status" });
    const status = await tg.waitForMessage(
      (m) =>
        m.botId === BOT && textOf(m).includes("running at step") && textOf(m).includes("Cycle services one by one"),
      5_000,
    );
    expect(textOf(status)).toContain("by @alice");
    tg.userSends({ from: BOB, chat: OPS, text: "/age" });
    await tg.waitForMessage(
      (m) => m.botId === BOT && textOf(m).includes("Secret ages") && m.message.date >= status.message.date,
      5_000,
    );
    infra.releasePaused("cycle_services");
    await walking;
    expect(infra.calls().filter((c) => c === "cycle_services")).toHaveLength(cyclesBefore + 1);
  });

  it("keeps one progress message per rotation, edited at most every five seconds", async () => {
    // Each test builds what it checks: two rotations of its own, the first held at two steps so
    // that its progress message is edited while it runs.
    const seen = new Set(tg.messages(OPS).map((m) => m.message.message_id));
    const progressOf = (key: string) => (m: StoredMessage) =>
      m.botId === BOT &&
      !m.deleted &&
      !seen.has(m.message.message_id) &&
      textOf(m).startsWith("🔐 Rotation ") &&
      textOf(m).includes(` of ${key} `);
    infra.touch("pause-accept_both");
    infra.touch("pause-cycle_services");
    const walking = walk("/rotate api-token");
    walking.catch(() => undefined); // awaited below; a failure before that must not also be unhandled
    try {
      const third = await tg.waitForMessage(
        (m) => progressOf("vault_billing_api_token")(m) && textOf(m).includes("▶️ 3. Update affected services"),
        60_000,
      );
      infra.releasePaused("accept_both");
      // The same message, edited: no card was posted between the two steps to move it down.
      await tg.waitForMessage(
        (m) =>
          m.message.message_id === third.message.message_id &&
          !m.deleted &&
          textOf(m).includes("▶️ 4. Cycle services one by one"),
        60_000,
      );
    } finally {
      // Whatever happened, the held rotation goes on, so the tests after this one find no rotation in flight.
      for (const step of ["accept_both", "cycle_services"])
        rmSync(path.join(infra.infraDir, `pause-${step}`), { force: true });
    }
    const held = await walking;
    const other = await walk("/rotate nats");

    const progress = tg
      .messages(OPS)
      .filter((m) => m.botId === BOT && !seen.has(m.message.message_id) && textOf(m).startsWith("🔐 Rotation "));
    for (const id of [held.rotationId, other.rotationId])
      expect(progress.filter((m) => !m.deleted && textOf(m).includes(`Rotation ${id} of`))).toHaveLength(1);
    let total = 0;
    for (const message of progress) {
      const edits = tg.calls
        .filter(
          (c) =>
            c.method === "editMessageText" &&
            c.ok &&
            c.params.message_id === message.message.message_id &&
            c.params.chat_id === message.message.chat.id,
        )
        .map((c) => c.at);
      total += edits.length;
      edits.slice(1).forEach((at, i) => expect(at - edits[i]!).toBeGreaterThanOrEqual(4_900));
    }
    expect(total).toBeGreaterThanOrEqual(1);
  });

  it("leaves no secret value in any form in requests to the Bot API, files, logs or git history", async () => {
    // Its own rotation of a pasted value (and whatever the tests before it rotated, when run with them).
    const dsn = `https://${randomBytes(16).toString("hex")}@o1.ingest.sentry.io/4343`;
    secrets.push(dsn);
    await walk("/rotate sentry", { token: () => dsn });
    // Every value the vault holds now, the ones no test here rotated included.
    secrets.push(...[...infra.vaultPlain().matchAll(/^\w+: "([^"]+)"$/gm)].map((m) => m[1]!));
    const requests = JSON.stringify(
      tg.calls.map((c) => [c.method, c.params, c.method === "getUpdates" ? null : c.result]),
    );
    const documents = tg.documents().map((d) => d.content.toString("latin1"));
    const everything = everythingWritten(infra, [requests, world.output(), ...documents]);
    expect(leaks(everything, secrets)).toEqual([]);
  });
});
