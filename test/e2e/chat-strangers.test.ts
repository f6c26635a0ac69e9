import { appendFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buttonsOf, textOf } from "../support/chat-driver.js";
import { ALICE, AUDIT, BOT, MALLORY, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";

let world: ChatWorld;
beforeAll(async () => {
  world = await startChatWorld();
  // A second API token, so that /rotate api-token asks which one (the picker).
  appendFileSync(
    path.join(world.infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
    '  vault_reports_api_token: {category: api_token, owner: "@data-team", last_rotation: 2025-01-01}\n',
  );
  await world.startBot();
});
afterAll(() => world?.stop());

const isBot = (m: StoredMessage) => m.botId === BOT;
/** The bot's first message in a chat (a private chat's id is the user's) after `after` that matches. */
const nextReply = (chat: number, after: number, pattern: RegExp) =>
  world.tg.waitForMessage(
    (m) => isBot(m) && m.message.chat.id === chat && m.message.message_id > after && pattern.test(textOf(m)),
  );
/** Sends text as `from` and resolves with the bot's next reply in that chat matching `pattern`. */
async function ask(from: number, chat: number | "private", text: string, pattern: RegExp) {
  const sent = world.tg.userSends({ from, chat, text });
  return nextReply(sent.chat.id, sent.message_id, pattern);
}
/** Everything the bot wrote in a chat after message `after`, in order. */
const botMessagesAfter = (chat: number, after: number) =>
  world.tg
    .messages(chat)
    .filter((m) => isBot(m) && m.message.message_id > after)
    .map(textOf);

describe("strangers and hostile input in the chat", { timeout: 90_000 }, () => {
  it("refuses a flooding stranger once, audits once, and answers an operator's /status in between", async () => {
    const start = world.tg.messages(OPS).length;
    const commands = ["/age", "/rotate telegram", "/status", "/cancel", "/help", "/history", "/resume"];
    for (let i = 0; i < 200; i++)
      world.tg.userSends({ from: MALLORY, chat: OPS, text: commands[i % commands.length]! });
    const status = world.tg.userSends({ from: ALICE, chat: OPS, text: "/status" });
    await nextReply(OPS, status.message_id, /^No rotation in flight\.$/);
    // Sequenced after everything above for ALICE; by then MALLORY's 200 are long decided.
    await ask(ALICE, OPS, "/help", /\/age – /);
    const said = botMessagesAfter(OPS, start);
    expect(said.filter((t) => t.includes(`Your Telegram user id is ${MALLORY}`))).toEqual([
      `⛔ Only rotabot operators can use this bot. Your Telegram user id is ${MALLORY}: ask an operator to add it to OPERATOR_IDS.`,
    ]);
    expect(said.map((t) => (t.startsWith("⛔") ? "refusal" : t.split("\n")[0]))).toEqual([
      "refusal",
      "No rotation in flight.",
      "rotabot walks operators through the Akira vault secret rotations and tells the team what happened.",
    ]);
    await world.tg.waitForMessage((m) => m.message.chat.id === AUDIT && textOf(m).includes("Refused: mallory"));
    expect(world.auditText().match(/Refused: mallory/g)).toHaveLength(1);
    // Refusals are sent once: not one of them was retried, none queued behind a 429.
    expect(world.tg.calls.filter((c) => !c.ok).map((c) => `${c.method}: ${c.description}`)).toEqual([]);
  });

  it("refuses and audits an anonymous group admin instead of staying silent", async () => {
    const sent = world.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate telegram", anonymous: true });
    const refusal = await nextReply(OPS, sent.message_id, /^⛔ rotabot cannot tell who wrote this/);
    expect(textOf(refusal)).toBe(
      "⛔ rotabot cannot tell who wrote this: it was sent as “Akira Ops” (an anonymous admin). Only rotabot operators can use this bot: turn off “Remain anonymous” in your admin rights and write as yourself.",
    );
    const audit = await world.tg.waitForMessage(
      (m) => m.message.chat.id === AUDIT && textOf(m).includes("an anonymous admin of “Akira Ops”"),
    );
    expect(textOf(audit)).toBe(
      `⛔ Refused: an anonymous admin of “Akira Ops” (id ${OPS}) tried /rotate in supergroup “Akira Ops” (id ${OPS})`,
    );
    expect(botMessagesAfter(OPS, sent.message_id).some((t) => t.startsWith("🔐 Plan"))).toBe(false);
  });

  it("ignores commands addressed to another bot, and says which extra words it did not understand", async () => {
    const other = world.tg.userSends({ from: ALICE, chat: "private", text: "/rotate@some_other_bot telegram" });
    await ask(ALICE, "private", "/help", /\/age – /);
    expect(botMessagesAfter(ALICE, other.message_id).filter((t) => !t.includes("/age – "))).toEqual([]);

    const extra = await ask(ALICE, OPS, "/rotate billing now please", /did not understand/);
    expect(textOf(extra)).toBe(
      "I did not understand “now please” after the secret name.\nUsage: /rotate <secret>, or /rotate <secret> incident <reason> to rotate during a deploy (the reason is recorded), or /rotate <secret> compromised <reason> [since <time>] when the value may have leaked; end with approver @name to ask that approver by name (two-person rule).",
    );
    const noReason = await ask(ALICE, OPS, "/rotate billing incident", /^Not started/);
    expect(textOf(noReason)).toMatch(/^Not started: an incident needs a reason/);
    const cancel = await ask(ALICE, OPS, "/cancel 20260101-0930-ab12 right now", /did not understand/);
    expect(textOf(cancel)).toBe("I did not understand “right now” after the rotation id. Usage: /cancel [rotation id]");
    const resume = await ask(ALICE, OPS, "/resume everything", /is not a rotation id/);
    expect(textOf(resume)).toBe(
      "“everything” is not a rotation id (they look like 20260101-0930-ab12); /status lists them.",
    );
  });

  it("bounds every echo of a 4,000-character name or reason, and refuses a reason that long", async () => {
    const long = "x".repeat(4000);
    const name = await ask(ALICE, OPS, `/rotate ${long}`, /^I have no procedure for/);
    expect(textOf(name)).toMatch(/^I have no procedure for “x{63}…”, and no secret has a name like it\. /);
    const reason = await ask(ALICE, OPS, `/rotate billing incident ${"word ".repeat(800)}`, /^Not started/);
    expect(textOf(reason)).toMatch(/^Not started: the incident reason is 3999 characters; keep it to 200 /);
    const age = await ask(ALICE, OPS, `/age ${long}`, /^Unknown filter/);
    expect(textOf(age).length).toBeLessThan(200);
    const command = await ask(ALICE, OPS, `/${"y".repeat(3000)}`, /^I don't know/);
    expect(textOf(command).length).toBeLessThan(200);
    // No reply above failed: nothing was too long for Telegram.
    expect(world.tg.calls.filter((c) => !c.ok && /too long/i.test(c.description ?? ""))).toEqual([]);
    expect(world.output()).not.toContain("update handling failed");
  });

  it("answers a forged picker index as a stale button, and the real choice still works", async () => {
    const picker = await ask(ALICE, OPS, "/rotate api-token", /fits several secrets/);
    const [first] = buttonsOf(picker);
    expect(buttonsOf(picker)).toEqual([expect.stringMatching(/^pick\|[0-9a-f]{8}\|0$/), expect.stringMatching(/\|1$/)]);
    const nonce = first!.split("|")[1]!;
    for (const data of [`pick|${nonce}|99`, `pick|${nonce}|-1`, `pick|${nonce}|01`, `pick|${nonce}|`]) {
      const forged = world.tg.pressButton({
        from: ALICE,
        chat: OPS,
        messageId: picker.message.message_id,
        data,
        forge: true,
      });
      const answer = await world.tg.waitForCall(
        (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === forged,
      );
      expect(answer.params.text, data).toMatch(/no longer active/);
    }
    // The digest's Rotate button carries a vault key: a forged one is checked like a typed name.
    const digest = world.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: picker.message.message_id,
      data: `due|${"k".repeat(61)}`,
      forge: true,
    });
    const stale = await world.tg.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === digest,
    );
    expect(stale.params.text).toMatch(/no longer active/);
    world.tg.pressButton({ from: ALICE, chat: OPS, messageId: picker.message.message_id, data: buttonsOf(picker)[1]! });
    const plan = await nextReply(OPS, picker.message.message_id, /^🔐 Plan: rotate vault_reports_api_token/);
    expect(buttonsOf(plan).some((b) => b.endsWith("|cancel"))).toBe(true);
    expect(world.output()).not.toContain("update handling failed");
  });
});
