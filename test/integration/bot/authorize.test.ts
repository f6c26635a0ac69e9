import { Api, Bot } from "grammy";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Audit, AuditEvent } from "../../../src/audit/create-audit.js";
import { createAuthorization } from "../../../src/bot/authorize.js";
import { startFakeBotApi, type FakeBotApi } from "../../../src/sandbox/telegram/fake-bot-api.js";

const BOT = 7001;
const OPS = -1001000000001;
const FOREIGN = -1001000000099;
const ALICE = 101;
const STRANGERS = Array.from({ length: 30 }, (_, i) => 500 + i);

let tg: FakeBotApi;
let bot: Bot;
let api: Api;
let events: AuditEvent[];
let passed: number[];
let warnings: string[];
let clock: number;

beforeEach(async () => {
  tg = await startFakeBotApi();
  const { token } = tg.addBot({ id: BOT, username: "akira_rotabot" });
  tg.addUser({ id: ALICE, first_name: "Alice", username: "alice" });
  for (const id of STRANGERS) tg.addUser({ id, first_name: `Stranger ${id}` });
  // rotabot is an admin here, so it sees all the group's messages, not only commands.
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE, ...STRANGERS], bots: [BOT], adminBots: [BOT] });
  tg.addGroup({ id: FOREIGN, title: "Elsewhere", members: [ALICE], bots: [BOT] });
  api = new Api(token, { apiRoot: tg.url });
  bot = new Bot(token, { client: { apiRoot: tg.url } });
  await bot.init();
  events = [];
  passed = [];
  warnings = [];
  clock = 1_000_000;
  const audit: Audit = { record: (event) => void events.push(event), attachChannel: () => undefined };
  const once = new Api(token, { apiRoot: tg.url });
  bot.use(
    createAuthorization({
      operatorIds: [ALICE],
      opsChatId: OPS,
      audit,
      refusals: {
        send: (chatId, text) => once.sendMessage(chatId, text),
        answer: (id, text) => once.answerCallbackQuery(id, text === undefined ? {} : { text, show_alert: true }),
      },
      logger: { warn: (_obj: unknown, message: string) => void warnings.push(message) } as never,
      now: () => clock,
    }),
  );
  bot.use((ctx) => void passed.push(ctx.update.update_id));
});
afterEach(() => tg.close());

/** Hands every pending update to the bot, one after another (getUpdates gives 100 at a time). */
async function deliver(): Promise<void> {
  let offset: number | undefined;
  for (;;) {
    const updates = await api.getUpdates({ timeout: 0, ...(offset === undefined ? {} : { offset }) });
    if (updates.length === 0) return;
    for (const update of updates) await bot.handleUpdate(update);
    offset = updates.at(-1)!.update_id + 1;
  }
}
const refusalsIn = (chat: number) =>
  tg.messages(chat).filter((m) => m.botId === BOT && m.message.text?.startsWith("⛔"));
const unauthorized = () => events.filter((e) => e.type === "unauthorized");

describe("authorization against a flood", () => {
  it("refuses and audits each stranger once per minute, and posts at most 3 refusals per chat in that time", async () => {
    for (const id of STRANGERS) for (let i = 0; i < 5; i++) tg.userSends({ from: id, chat: OPS, text: "/rotate nats" });
    tg.userSends({ from: ALICE, chat: OPS, text: "/status" });
    await deliver();
    expect(unauthorized()).toHaveLength(STRANGERS.length);
    expect(refusalsIn(OPS).map((m) => m.message.text)).toEqual(
      STRANGERS.slice(0, 3).map(
        (id) =>
          `⛔ Only rotabot operators can use this bot. Your Telegram user id is ${id}: ask an operator to add it to OPERATOR_IDS.`,
      ),
    );
    expect(passed).toHaveLength(1);

    clock += 60_000;
    tg.userSends({ from: STRANGERS[29]!, chat: OPS, text: "/age" });
    tg.userSends({ from: STRANGERS[0]!, chat: "private", text: "/age" });
    await deliver();
    expect(unauthorized()).toHaveLength(STRANGERS.length + 2);
    expect(refusalsIn(OPS)).toHaveLength(4);
    expect(refusalsIn(STRANGERS[0]!)).toHaveLength(1);
  });

  it("drops a refusal Telegram rate-limits instead of waiting, and says so in the log", async () => {
    tg.injectFault({ method: "sendMessage", status: 429, retryAfter: 30 });
    tg.userSends({ from: STRANGERS[0]!, chat: OPS, text: "/age" });
    await deliver();
    expect(tg.calls.filter((c) => c.method === "sendMessage").map((c) => c.status)).toEqual([429]);
    expect(warnings).toEqual(["could not send a refusal; dropped"]);
    expect(unauthorized()).toHaveLength(1);
  });

  it("treats group chatter and commands for other bots as nobody's business, operators' included", async () => {
    tg.userSends({ from: STRANGERS[0]!, chat: OPS, text: "lunch?" });
    tg.userSends({ from: STRANGERS[1]!, chat: OPS, text: "/rotate@some_other_bot nats" });
    tg.userSends({ from: ALICE, chat: OPS, text: "/status@some_other_bot" });
    tg.userSends({ from: ALICE, chat: "private", text: "/age@Some_Other_Bot" });
    tg.userSends({ from: ALICE, chat: OPS, text: "/status@Akira_RotaBot" });
    await deliver();
    expect([unauthorized(), refusalsIn(OPS), passed.length]).toEqual([[], [], 1]);
  });

  it("audits an operator in a foreign group without answering there", async () => {
    tg.userSends({ from: ALICE, chat: FOREIGN, text: "/age" });
    await deliver();
    expect(unauthorized()).toMatchObject([{ actor: { id: `tg:${ALICE}` }, action: "/age", chat: { id: FOREIGN } }]);
    expect(tg.messages(FOREIGN).filter((m) => m.botId === BOT)).toEqual([]);
    expect(passed).toEqual([]);
  });

  it("refuses a stranger's button press with an alert once, and answers every later press silently, whatever the message says", async () => {
    const own = await api.sendMessage(OPS, "/status@some_other_bot: a card whose text starts like a command", {
      reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "rt|20260101-0930-ab12|0123abcd|g" }]] },
    });
    for (let i = 0; i < 3; i++)
      tg.pressButton({
        from: STRANGERS[0]!,
        chat: OPS,
        messageId: own.message_id,
        data: "rt|20260101-0930-ab12|0123abcd|g",
      });
    await deliver();
    const answers = tg.calls.filter((c) => c.method === "answerCallbackQuery");
    expect(answers.map((c) => [c.params.text, c.params.show_alert])).toEqual([
      [expect.stringContaining(`Your Telegram user id is ${STRANGERS[0]}`), true],
      [undefined, undefined],
      [undefined, undefined],
    ]);
    // Every press was answered, so no spinner runs until Telegram gives up.
    expect(tg.callbackQueries().map((q) => q.answeredAt !== undefined)).toEqual([true, true, true]);
    expect(unauthorized()).toMatchObject([{ action: "a button press" }]);
  });

  it("answers a press in a foreign group silently, and audits it", async () => {
    const own = await api.sendMessage(FOREIGN, "a card", {
      reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "due|vault_x" }]] },
    });
    tg.pressButton({ from: ALICE, chat: FOREIGN, messageId: own.message_id, data: "due|vault_x" });
    await deliver();
    expect(tg.callbackQueries().map((q) => q.answeredAt !== undefined)).toEqual([true]);
    expect(tg.calls.filter((c) => c.method === "answerCallbackQuery").map((c) => c.params.text)).toEqual([undefined]);
    expect(unauthorized()).toMatchObject([{ action: "a button press", chat: { id: FOREIGN } }]);
    expect(passed).toEqual([]);
  });

  it("refuses someone writing as a channel, and clips what the audit repeats", async () => {
    const channel = { id: -1002000000000, type: "channel" as const, title: `Leaks ${"!".repeat(200)}` };
    await bot.handleUpdate({
      update_id: 1,
      message: {
        message_id: 50,
        date: 1,
        chat: { id: OPS, type: "supergroup", title: "Akira Ops" },
        from: { id: 136817688, is_bot: true, first_name: "Channel", username: "Channel_Bot" },
        sender_chat: channel,
        text: `/${"a".repeat(500)} now`,
      },
    });
    const [event] = unauthorized();
    expect(event).toMatchObject({ actor: { id: `tg:${channel.id}` }, chat: { id: OPS } });
    expect(event?.type === "unauthorized" && [event.actor.name.length, event.action.length]).toEqual([
      expect.any(Number),
      64,
    ]);
    expect(event?.type === "unauthorized" && event.actor.name).toMatch(/^channel “Leaks !+…” \(writing as the chat\)$/);
    expect(refusalsIn(OPS).map((m) => m.message.text)).toEqual([
      expect.stringMatching(
        /^⛔ rotabot cannot tell who wrote this: it was sent as “Leaks !+…”\. Only rotabot operators/,
      ),
    ]);
  });
});
