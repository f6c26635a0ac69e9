import { unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buttonsOf, press, promptOf, startRotation, textOf } from "../support/chat-driver.js";
import { OLD_VALUES } from "../support/chat-fixture.js";
import { ALICE, AUDIT, BOB, BOT, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";

/** Telegram as it behaves over time and across chats (issue 20), and the plan cards' truth (issue 22.6). */
let world: ChatWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const fromBot = (m: StoredMessage) => m.botId === BOT;
const botTextsIn = (w: ChatWorld, chat: number) => w.tg.messages(chat, BOT).filter(fromBot).map(textOf);
const nextInOps = (w: ChatWorld, after: number, pattern: RegExp, timeoutMs = 20_000) =>
  w.tg.waitForMessage(
    (m) => fromBot(m) && m.message.chat.id === OPS && m.message.message_id > after && pattern.test(textOf(m)),
    timeoutMs,
  );
/** Lines of the bot's log (pino JSON) whose message matches. */
const logged = (w: ChatWorld, pattern: RegExp) =>
  w
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => pattern.test(entry.msg));

describe("Telegram as it really behaves", { timeout: 120_000 }, () => {
  it("in an ops group where it is no admin, says at start that a pasted secret is neither seen nor deleted; and so it is", async () => {
    const w = (world = await startChatWorld());
    w.tg.setBotAdmin(OPS, BOT, false);
    await w.startBot();
    const warning = await nextInOps(w, 0, /^⚠️ @akira_rotabot is not an administrator/);
    expect(textOf(warning)).toBe(
      "⚠️ @akira_rotabot is not an administrator of the ops chat and Telegram's privacy mode is on, so it receives only commands, replies to it and mentions: a secret pasted there as a plain message is neither seen nor deleted, and nobody is told. To fix it, make @akira_rotabot an administrator of the ops group with the right “Delete messages” (docs/deploy.md, step 2).",
    );
    expect(logged(w, /is not an administrator of the ops chat/)).toHaveLength(1);

    const pasted = w.tg.userSends({ from: ALICE, chat: OPS, text: OLD_VALUES.vault_nats_password });
    // A command after it is seen and answered: by then the paste would have been handled, had it been seen.
    const status = w.tg.userSends({ from: ALICE, chat: OPS, text: "/status" });
    await nextInOps(w, status.message_id, /No rotation in flight/);
    expect(w.tg.messages(OPS).find((m) => m.message.message_id === pasted.message_id)?.deleted).toBe(false);
    expect(w.auditText()).not.toContain("counts as exposed");
  });

  it("keeps a rotation started in a forum topic in that topic; the digest and the audit lines go to the topics set for them", async () => {
    // A forum's topics are numbered by the message that created them: 1 and 2 in a new group.
    const w = (world = await startChatWorld({ DIGEST_TOPIC_ID: "2", AUDIT_TOPIC_ID: "1" }));
    w.tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE, BOB], bots: [BOT], adminBots: [BOT], forum: true });
    const topic = w.tg.addTopic(OPS, "Rotations", ALICE);
    expect(w.tg.addTopic(OPS, "Daily digest", ALICE)).toBe(2);
    w.tg.addGroup({ id: AUDIT, title: "Akira Audit", members: [ALICE], bots: [BOT], adminBots: [BOT], forum: true });
    expect(w.tg.addTopic(AUDIT, "Audit", ALICE)).toBe(1);
    // A digest run was missed while the bot was down: it is made up at start.
    writeFileSync(
      path.join(w.infra.stateDir, "reminders.json"),
      JSON.stringify({ lastRunAt: new Date(Date.now() - 3 * 86_400_000).toISOString() }),
    );
    await w.startBot();
    const digest = await w.tg.waitForMessage((m) => fromBot(m) && textOf(m).startsWith("⏰ Daily secret check"));
    expect(digest.message.message_thread_id).toBe(2);

    const before = Math.max(...w.tg.messages(OPS).map((m) => m.message.message_id));
    const { rotationId } = await w.walk("/rotate api-token", { topic });
    const written = w.tg.messages(OPS, BOT).filter((m) => fromBot(m) && m.message.message_id > before);
    expect(written.filter((m) => textOf(m).includes(rotationId)).length).toBeGreaterThanOrEqual(3);
    expect(written.map((m) => [textOf(m).slice(0, 40), m.message.message_thread_id])).toEqual(
      written.map((m) => [textOf(m).slice(0, 40), topic]),
    );
    await expect.poll(() => w.auditText(), { timeout: 15_000 }).toContain(`[${rotationId}] 🏁 completed`);
    const audit = w.tg.messages(AUDIT, BOT).filter(fromBot);
    expect(audit.map((m) => m.message.message_thread_id)).toEqual(audit.map(() => 1));
  });

  it("says once, with the new id and the setting, when the ops group is upgraded to a supergroup", async () => {
    const basic = -4001;
    const w = (world = await startChatWorld({ OPS_CHAT_ID: String(basic) }));
    w.tg.addGroup({
      id: basic,
      title: "Akira Ops",
      type: "group",
      members: [ALICE, BOB],
      bots: [BOT],
      adminBots: [BOT],
    });
    await w.startBot();
    w.tg.migrateGroup(basic, -1004001, ALICE);
    const fix =
      "📵 Telegram upgraded the ops chat (OPS_CHAT_ID=-4001) to a supergroup with the new id -1004001, so rotabot can no longer write to the old id. Fix: set OPS_CHAT_ID=-1004001 in rotabot's settings (.env or the unit's EnvironmentFile) and restart rotabot (systemctl restart rotabot).";
    await expect.poll(() => w.auditText().split("\n"), { timeout: 15_000 }).toContain(fix);
    expect(logged(w, /upgraded the ops chat/)).toHaveLength(1);
    expect(
      w
        .auditText()
        .split("\n")
        .filter((line) => line === fix),
    ).toHaveLength(1);
  });

  it("says once, with the fix, when it is removed from the ops group, and does not retry in a loop", async () => {
    const w = (world = await startChatWorld());
    await w.startBot();
    w.infra.touch("pause-cycle_services");
    const id = await startRotation(w, "/rotate api-token");
    await expect.poll(() => w.infra.exists("paused-cycle_services"), { timeout: 20_000 }).toBe(true);
    w.tg.kickBot(OPS, BOT, BOB);
    const line = `📵 rotabot is not in the ops chat (OPS_CHAT_ID=${OPS}) any more: Telegram answers “the bot's status is now “kicked””. Fix: add the bot to that chat again and make it an administrator with “Delete messages” (docs/deploy.md, step 2); it works again without a restart.`;
    await expect.poll(() => w.auditText().split("\n"), { timeout: 15_000 }).toContain(line);
    // The rotation goes on; its messages to the ops chat now fail with 403, each once, and are not said again.
    unlinkSync(path.join(w.infra.infraDir, "pause-cycle_services"));
    await expect
      .poll(() => w.tg.calls.filter((c) => c.status === 403 && Number(c.params.chat_id) === OPS).length, {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);
    await expect.poll(() => w.infra.calls().includes("verify_new"), { timeout: 20_000 }).toBe(true);
    expect(logged(w, /is not in the ops chat/)).toHaveLength(1);
    const refusedSends = w.tg.calls.filter((c) => c.status === 403 && Number(c.params.chat_id) === OPS);
    const repeated = refusedSends.filter(
      (c, i) => refusedSends.findIndex((d) => d.method === c.method && d.params.text === c.params.text) !== i,
    );
    expect(repeated).toEqual([]);
    w.tg.userSends({ from: ALICE, chat: "private", text: `/cancel ${id}` });
    await expect.poll(() => w.auditText(), { timeout: 20_000 }).toContain(`[${id}] ⏹ aborted by @alice`);
  });

  it("a refused start is a new message naming the rotation that holds the vault, with Retry; an older plan card loses its buttons", async () => {
    const w = (world = await startChatWorld());
    await w.startBot();
    const holder = await startRotation(w, "/rotate signalwire");
    const request = await w.tg.waitForMessage(
      (m) => fromBot(m) && m.message.chat.id === ALICE && buttonsOf(m).some((b) => b.startsWith(`rt|${holder}|`)),
    );
    w.tg.userSends({
      from: ALICE,
      chat: "private",
      text: "PTholdsTheVault0123456789abcdefgh",
      replyTo: request.message.message_id,
    });
    await promptOf(w, holder, /revoke the old token/);

    // Two plans: the older card loses its buttons and its expiry.
    const first = w.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate nats" });
    const older = await nextInOps(w, first.message_id, /^🔐 Plan: rotate/);
    const second = w.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate api-token" });
    const plan = await nextInOps(w, second.message_id, /^🔐 Plan: rotate <?.*vault_billing_api_token/);
    const replaced = await w.tg.waitForMessage(
      (m) =>
        m.message.chat.id === OPS &&
        m.message.message_id === older.message.message_id &&
        /Replaced by a newer plan/.test(textOf(m)),
    );
    expect(buttonsOf(replaced)).toEqual([]);
    expect(textOf(replaced)).not.toContain("expires in");

    w.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: plan.message.message_id,
      data: buttonsOf(plan).find((b) => b.endsWith("|start"))!,
    });
    const refusal = await nextInOps(w, plan.message.message_id, /was not started/);
    expect(textOf(refusal)).toBe(
      `🚫 vault_billing_api_token was not started: Rotation ${holder} of vault_signalwire_token (by @alice) is in flight and has changed the vault; rotations share the vault file and its commit, so finish or abort that one first (rotabot status, or /status, shows where it stands).\n\nPress Retry once that is resolved, or Cancel.`,
    );
    expect(buttonsOf(refusal).map((b) => b.split("|").at(-1))).toEqual(["start", "cancel"]);
    const settled = w.tg.messages(OPS).find((m) => m.message.message_id === plan.message.message_id)!;
    expect(textOf(settled)).toMatch(/\n\n🚫 Not started: the reason is below\.$/);
    expect(textOf(settled)).not.toContain("expires in");
    expect(buttonsOf(settled)).toEqual([]);

    w.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${holder}` });
    await nextInOps(w, refusal.message.message_id, /^⏹ aborted by @alice/);
    w.tg.pressButton({ from: ALICE, chat: OPS, messageId: refusal.message.message_id, data: buttonsOf(refusal)[0]! });
    const started = await w.tg.waitForMessage(
      (m) =>
        m.message.chat.id === OPS &&
        m.message.message_id === refusal.message.message_id &&
        /Started as rotation/.test(textOf(m)),
    );
    expect(buttonsOf(started)).toEqual([]);
    const id = /rotation (\S+):/.exec(textOf(started))![1]!;
    w.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${id}` });
    await nextInOps(w, started.message.message_id, /^⏹ aborted by @alice/);
  });

  it("a Started edit that finds its card gone posts it anew; an error reply without a description does not drop the next card", async () => {
    const w = (world = await startChatWorld());
    await w.startBot();
    const asked = w.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate api-token" });
    const plan = await nextInOps(w, asked.message_id, /^🔐 Plan: rotate/);
    // An admin deleted the card meanwhile: Telegram answers the edit so (its exact words).
    w.tg.injectFault({ method: "editMessageText", status: 400, description: "Bad Request: message to edit not found" });
    w.infra.touch("fail-verify_new");
    // The failed step's log document gets an answer without a description (a proxy's 502 page, say).
    w.tg.injectFault({ method: "sendDocument", status: 400, withoutDescription: true });
    w.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: plan.message.message_id,
      data: buttonsOf(plan).find((b) => b.endsWith("|start"))!,
    });
    const started = await nextInOps(w, plan.message.message_id, /^▶️ Started as rotation/);
    const id = /rotation (\S+):/.exec(textOf(started))![1]!;
    const failed = await promptOf(w, id, /Verify all services use the new secret failed/);
    expect(buttonsOf(failed).map((b) => b.slice(-1))).toEqual(["r", "m", "a"]);
    expect(botTextsIn(w, OPS).some((t) => t.startsWith("Something went wrong"))).toBe(false);
    press(w, failed, "a");
    await nextInOps(w, failed.message.message_id, /^⏹ aborted by @alice/);
  });

  it("/age in the ops chat offers a Rotate button for each secret that needs action, like the daily digest", async () => {
    const w = (world = await startChatWorld());
    await w.startBot();
    const asked = w.tg.userSends({ from: ALICE, chat: OPS, text: "/age" });
    const reply = await nextInOps(w, asked.message_id, /Secret ages/);
    // The fixture's manifest: four secrets last rotated 2025-01-01 are overdue; NATS (never rotated) has no interval.
    expect(buttonsOf(reply)).toEqual([
      "due|vault_billing_api_token",
      "due|vault_postgres_app_password",
      "due|vault_signalwire_token",
      "due|vault_telegram_bot_token",
    ]);
    w.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: reply.message.message_id,
      data: "due|vault_signalwire_token",
    });
    await nextInOps(w, reply.message.message_id, /^🔐 Plan: rotate vault_signalwire_token/);
    // In a private chat the buttons would only be refused: none there.
    w.tg.userSends({ from: ALICE, chat: "private", text: "/age" });
    const privately = await w.tg.waitForMessage(
      (m) => fromBot(m) && m.message.chat.id === ALICE && /Secret ages/.test(textOf(m)),
    );
    expect(buttonsOf(privately)).toEqual([]);
  });
});
