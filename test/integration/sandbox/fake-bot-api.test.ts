import { Api, GrammyError, InputFile } from "grammy";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseHtml, parseMarkdownV2 } from "../../../src/sandbox/telegram/parse-entities.js";
import {
  CALLBACK_ANSWER_WINDOW_MS,
  startFakeBotApi,
  type FakeBotApi,
} from "../../../src/sandbox/telegram/fake-bot-api.js";

const OPS = -1001000000001;
let tg: FakeBotApi;
let api: Api;
let token: string;

beforeEach(async () => {
  tg = await startFakeBotApi();
  ({ token } = tg.addBot({ id: 5001, username: "rotabot" }));
  tg.addUser({ id: 11, first_name: "Alice", username: "alice" });
  tg.addUser({ id: 12, first_name: "Mallory" });
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [11, 12], bots: [5001] });
  api = new Api(token, { apiRoot: tg.url });
});
afterEach(() => tg.close());

const errorOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GrammyError) return { code: error.error_code, description: error.description };
    throw error;
  }
  return expect.fail("expected the call to fail");
};

describe("fake Bot API: long polling", () => {
  it("honours offset, and holds a poll until an update arrives", async () => {
    tg.userSends({ from: 11, chat: OPS, text: "/age" });
    const first = await api.getUpdates({ timeout: 0 });
    expect(first).toHaveLength(1);
    expect(first[0]!.message?.entities).toEqual([{ type: "bot_command", offset: 0, length: 4 }]);
    const again = await api.getUpdates({ timeout: 0 });
    expect(again.map((u) => u.update_id)).toEqual([first[0]!.update_id]);
    const pending = api.getUpdates({ offset: first[0]!.update_id + 1, timeout: 5 });
    await tg.waitForHeldPoll();
    tg.userSends({ from: 11, chat: OPS, text: "/help" });
    const next = await pending;
    expect(next.map((u) => u.message?.text)).toEqual(["/help"]);
  });

  it("answers an empty list when the timeout passes", async () => {
    const started = Date.now();
    expect(await api.getUpdates({ timeout: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("terminates the older of two concurrent polls with 409 Conflict", async () => {
    const older = errorOf(api.getUpdates({ timeout: 5 }));
    await tg.waitForHeldPoll();
    const newer = api.getUpdates({ timeout: 1 });
    expect(await older).toEqual({
      code: 409,
      description: expect.stringContaining("terminated by other getUpdates request") as string,
    });
    expect(await newer).toEqual([]);
  });

  it("honours allowed_updates for updates created after the call", async () => {
    await api.getUpdates({ timeout: 0, allowed_updates: ["callback_query"] });
    tg.userSends({ from: 11, chat: OPS, text: "/age" });
    expect(await api.getUpdates({ timeout: 0 })).toEqual([]);
  });
});

describe("fake Bot API: privacy mode and chats", () => {
  it("shows a group bot only commands meant for it and replies to it", async () => {
    tg.userSends({ from: 11, chat: OPS, text: "hello everyone" });
    tg.userSends({ from: 11, chat: OPS, text: "/age@otherbot" });
    tg.userSends({ from: 11, chat: OPS, text: "/age@RotaBot" });
    const own = await api.sendMessage(OPS, "question?");
    tg.userSends({ from: 12, chat: OPS, text: "an answer", replyTo: own.message_id });
    const texts = (await api.getUpdates({ timeout: 0 })).map((u) => u.message?.text);
    expect(texts).toEqual(["/age@RotaBot", "an answer"]);
  });

  it("shows a group's administrator bot every message", async () => {
    tg.addGroup({ id: -1002, title: "Admins", members: [11], bots: [5001], adminBots: [5001] });
    tg.userSends({ from: 11, chat: -1002, text: "hello everyone" });
    expect((await api.getUpdates({ timeout: 0 })).map((u) => u.message?.text)).toEqual(["hello everyone"]);
  });

  it("delivers an anonymous admin's message as Telegram does: sender_chat is the group, from is @GroupAnonymousBot", async () => {
    tg.userSends({ from: 11, chat: OPS, text: "/age", anonymous: true });
    const [update] = await api.getUpdates({ timeout: 0 });
    expect(update?.message).toMatchObject({
      text: "/age",
      from: { id: 1087968824, is_bot: true, username: "GroupAnonymousBot" },
      sender_chat: { id: OPS, type: "supergroup", title: "Akira Ops" },
    });
    expect(() => tg.userSends({ from: 11, chat: "private", text: "/age", anonymous: true })).toThrow(/anonymously/);
  });

  it("lets a bot write privately only to users who started it", async () => {
    expect(await errorOf(api.sendMessage(11, "hi"))).toEqual({
      code: 403,
      description: "Forbidden: bot can't initiate conversation with a user",
    });
    tg.userSends({ from: 11, chat: "private", text: "/start" });
    await api.sendMessage(11, "hi");
    expect(await errorOf(api.sendMessage(-42, "hi"))).toEqual({
      code: 400,
      description: "Bad Request: chat not found",
    });
  });

  it("deletes others' messages in groups only as admin, and always in private chats", async () => {
    const groupMessage = tg.userSends({ from: 11, chat: OPS, text: "/x" });
    expect(await errorOf(api.deleteMessage(OPS, groupMessage.message_id))).toEqual({
      code: 400,
      description: "Bad Request: message can't be deleted",
    });
    const privateMessage = tg.userSends({ from: 11, chat: "private", text: "token" });
    expect(await api.deleteMessage(11, privateMessage.message_id)).toBe(true);
    expect(tg.messages(11)[0]!.deleted).toBe(true);
    expect(await errorOf(api.deleteMessage(11, privateMessage.message_id))).toEqual({
      code: 400,
      description: "Bad Request: message to delete not found",
    });
  });
});

describe("fake Bot API: messages", () => {
  it("parses HTML and rejects malformed entities like Telegram", async () => {
    const sent = await api.sendMessage(OPS, "<b>bold</b> &amp; <code>x</code>", { parse_mode: "HTML" });
    expect(sent.text).toBe("bold & x");
    expect(sent.entities).toEqual([
      { type: "bold", offset: 0, length: 4 },
      { type: "code", offset: 7, length: 1 },
    ]);
    expect((await errorOf(api.sendMessage(OPS, "a < b", { parse_mode: "HTML" }))).description).toMatch(
      /^Bad Request: can't parse entities: /,
    );
    expect((await errorOf(api.sendMessage(OPS, "<foo>x</foo>", { parse_mode: "HTML" }))).description).toMatch(
      /Unsupported start tag "foo" at byte offset 0/,
    );
    expect((await errorOf(api.sendMessage(OPS, "<b>open", { parse_mode: "HTML" }))).description).toMatch(
      /Can't find end tag corresponding to start tag "b"/,
    );
    expect((await errorOf(api.sendMessage(OPS, "fish & chips", { parse_mode: "HTML" }))).description).toMatch(
      /can't parse entities/,
    );
    expect((await errorOf(api.sendMessage(OPS, "v1.2", { parse_mode: "MarkdownV2" }))).description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    );
  });

  it("enforces the 4096-character limit after parsing, and 64-byte callback data", async () => {
    await api.sendMessage(OPS, `<b>${"x".repeat(4096)}</b>`, { parse_mode: "HTML" });
    expect(await errorOf(api.sendMessage(OPS, "x".repeat(4097)))).toEqual({
      code: 400,
      description: "Bad Request: message is too long",
    });
    expect(await errorOf(api.sendMessage(OPS, ""))).toEqual({
      code: 400,
      description: "Bad Request: message text is empty",
    });
    const keyboard = (data: string) => ({ reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: data }]] } });
    await api.sendMessage(OPS, "ok", keyboard("x".repeat(64)));
    expect(await errorOf(api.sendMessage(OPS, "no", keyboard("é".repeat(33))))).toEqual({
      code: 400,
      description: "Bad Request: BUTTON_DATA_INVALID",
    });
  });

  it("refuses an edit that changes nothing", async () => {
    const sent = await api.sendMessage(OPS, "<b>step 1</b>", { parse_mode: "HTML" });
    const edited = await api.editMessageText(OPS, sent.message_id, "<b>step 2</b>", { parse_mode: "HTML" });
    expect(edited).toMatchObject({ text: "step 2" });
    expect(
      (await errorOf(api.editMessageText(OPS, sent.message_id, "<b>step 2</b>", { parse_mode: "HTML" }))).description,
    ).toMatch(/^Bad Request: message is not modified/);
    expect(tg.messages(OPS)[0]).toMatchObject({ edits: 1, message: { text: "step 2" } });
  });

  it("delivers button presses and answers each query once", async () => {
    const sent = await api.sendMessage(OPS, "Start?", {
      reply_markup: { inline_keyboard: [[{ text: "Start", callback_data: "start:1" }]] },
    });
    expect(() => tg.pressButton({ from: 11, chat: OPS, messageId: sent.message_id, data: "start:2" })).toThrow(
      /no button/,
    );
    const id = tg.pressButton({ from: 11, chat: OPS, messageId: sent.message_id, data: "start:1" });
    const [update] = await api.getUpdates({ timeout: 0 });
    expect(update!.callback_query).toMatchObject({
      id,
      data: "start:1",
      from: { id: 11 },
      message: { message_id: sent.message_id },
    });
    expect(await api.answerCallbackQuery(id, { text: "ok" })).toBe(true);
    expect((await errorOf(api.answerCallbackQuery(id))).description).toMatch(/query is too old/);
  });

  it("accepts multipart documents and registers commands", async () => {
    await api.sendDocument(OPS, new InputFile(Buffer.from("full log\n"), "step.log"), {
      caption: "<b>log</b>",
      parse_mode: "HTML",
    });
    expect(tg.documents()).toEqual([
      expect.objectContaining({ filename: "step.log", content: Buffer.from("full log\n") }),
    ]);
    await api.setMyCommands([{ command: "age", description: "Secret ages" }]);
    expect(await api.getMyCommands()).toEqual([{ command: "age", description: "Secret ages" }]);
    expect((await errorOf(api.setMyCommands([{ command: "Bad-Command", description: "x" }]))).description).toBe(
      "Bad Request: BOT_COMMAND_INVALID",
    );
  });
});

describe("fake Bot API: tokens and faults", () => {
  it("keeps one valid token per bot: a new token from BotFather makes the old one answer 401 at once", async () => {
    const polling = errorOf(api.getUpdates({ timeout: 5 }));
    await tg.waitForHeldPoll(5001);
    const second = tg.issueNewToken(5001);
    expect(await polling).toEqual({ code: 401, description: "Unauthorized" });
    expect(await errorOf(api.getMe())).toEqual({ code: 401, description: "Unauthorized" });
    expect(tg.tokenOf(5001)).toBe(second);
    const me = await new Api(second, { apiRoot: tg.url }).getMe();
    expect(me.id).toBe(5001);
    expect(second.split(":")[0]).toBe(String(me.id));
    // "Revoking the old token" after the new one is deployed would issue a third and kill the second.
    const third = tg.issueNewToken(5001);
    expect(await errorOf(new Api(second, { apiRoot: tg.url }).getMe())).toEqual({
      code: 401,
      description: "Unauthorized",
    });
    expect((await new Api(third, { apiRoot: tg.url }).getMe()).id).toBe(5001);
    expect(await errorOf(new Api("999:unknown", { apiRoot: tg.url }).getMe())).toEqual({
      code: 401,
      description: "Unauthorized",
    });
  });

  it("injects 429 with retry_after and 5xx", async () => {
    tg.injectFault({ method: "sendMessage", status: 429, retryAfter: 3 });
    tg.injectFault({ method: "sendMessage", status: 500 });
    const limited = await api.sendMessage(OPS, "a").catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(GrammyError);
    expect(limited).toMatchObject({
      error_code: 429,
      description: "Too Many Requests: retry after 3",
      parameters: { retry_after: 3 },
    });
    expect((await errorOf(api.sendMessage(OPS, "b"))).code).toBe(500);
    await api.sendMessage(OPS, "c");
  });
});

describe("entity parsers", () => {
  it("handles pre with a language, links and numeric entities", () => {
    expect(parseHtml('<pre><code class="language-yaml">a: 1</code></pre><a href="https://x.y">l</a>&#33;')).toEqual({
      text: "a: 1l!",
      entities: [
        { type: "pre", offset: 0, length: 4, language: "yaml" },
        { type: "text_link", offset: 4, length: 1, url: "https://x.y" },
      ],
    });
    expect(() => parseHtml("<code><b>x</b></code>")).toThrow(/can't parse entities/);
  });

  it("parses MarkdownV2 entities and escapes", () => {
    expect(parseMarkdownV2("*bold* and `co\\`de` v1\\.2")).toEqual({
      text: "bold and co`de v1.2",
      entities: [
        { type: "bold", offset: 0, length: 4 },
        { type: "code", offset: 9, length: 5 },
      ],
    });
    expect(() => parseMarkdownV2("*open")).toThrow(/Can't find end of Bold entity/);
  });
});

/** A server on a clock the test moves, a bot in a group, and a card with a Go button to press. */
async function onTestClock(
  options: { callbackAnswerWindowMs?: number },
  test: (t: { bot: Api; press: () => string; advance: (ms: number) => void; server: FakeBotApi }) => Promise<void>,
) {
  let clock = Date.now();
  const server = await startFakeBotApi({ ...options, now: () => clock });
  try {
    const bot = new Api(server.addBot({ id: 5002, username: "timed_bot" }).token, { apiRoot: server.url });
    server.addUser({ id: 11, first_name: "Alice" });
    server.addGroup({ id: OPS, title: "Ops", members: [11], bots: [5002] });
    const card = await bot.sendMessage(OPS, "Go?", {
      reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "go" }]] },
    });
    const press = () => server.pressButton({ from: 11, chat: OPS, messageId: card.message_id, data: "go" });
    await test({ bot, press, advance: (ms) => (clock += ms), server });
  } finally {
    await server.close();
  }
}

describe("fake Bot API: Telegram over time and across chats", () => {
  it("refuses an answer to a press after Telegram's window (about ten seconds) with its words, and records which presses were answered", async () => {
    await onTestClock({}, async ({ bot, press, advance, server }) => {
      const inTime = press();
      advance(CALLBACK_ANSWER_WINDOW_MS - 1);
      const late = press();
      expect(await bot.answerCallbackQuery(inTime)).toBe(true);
      advance(CALLBACK_ANSWER_WINDOW_MS + 1);
      expect(await errorOf(bot.answerCallbackQuery(late, { text: "done" }))).toEqual({
        code: 400,
        description: "Bad Request: query is too old and response timeout expired or query ID is invalid",
      });
      expect(server.callbackQueries()).toEqual([
        expect.objectContaining({ id: inTime, answeredAt: expect.any(Number) as number, refused: 0 }),
        expect.objectContaining({ id: late, refused: 1 }),
      ]);
      expect(server.callbackQueries()[1]!.answeredAt).toBeUndefined();
      expect(CALLBACK_ANSWER_WINDOW_MS).toBe(10_000);
    });
  });

  it("takes a shorter window when a test asks for one", async () => {
    await onTestClock({ callbackAnswerWindowMs: 200 }, async ({ bot, press, advance }) => {
      const pressed = press();
      advance(201);
      expect((await errorOf(bot.answerCallbackQuery(pressed))).description).toMatch(/query is too old/);
    });
  });

  it("privacy mode: a member bot hears commands, replies and mentions only; getMe and getChatMember say so", async () => {
    tg.userSends({ from: 11, chat: OPS, text: "vault_pass = hunter2-hunter2" });
    tg.userSends({ from: 11, chat: OPS, text: "ping @RotaBot please" });
    tg.userSends({ from: 11, chat: OPS, text: "ping @rotabot_two" });
    expect((await api.getUpdates({ timeout: 0 })).map((u) => u.message?.text)).toEqual(["ping @RotaBot please"]);
    expect((await api.getMe()).can_read_all_group_messages).toBe(false);
    expect(await api.getChatMember(OPS, 5001)).toMatchObject({ status: "member" });

    const open = await startFakeBotApi();
    try {
      const loud = new Api(open.addBot({ id: 5003, username: "loud_bot", privacyMode: false }).token, {
        apiRoot: open.url,
      });
      open.addUser({ id: 11, first_name: "Alice" });
      open.addGroup({ id: OPS, title: "Ops", members: [11], bots: [5003] });
      open.userSends({ from: 11, chat: OPS, text: "chatter" });
      expect((await loud.getMe()).can_read_all_group_messages).toBe(true);
      expect((await loud.getUpdates({ timeout: 0 })).map((u) => u.message?.text)).toEqual(["chatter"]);
    } finally {
      await open.close();
    }
  });

  it("an administrator's rights: getChatMember lists them, and a supergroup's admin deletes others' messages only with can_delete_messages", async () => {
    tg.setBotAdmin(OPS, 5001, { can_delete_messages: false }, 11);
    expect(await api.getChatMember(OPS, 5001)).toMatchObject({ status: "administrator", can_delete_messages: false });
    const pasted = tg.userSends({ from: 11, chat: OPS, text: "a pasted secret" });
    expect(await errorOf(api.deleteMessage(OPS, pasted.message_id))).toEqual({
      code: 400,
      description: "Bad Request: message can't be deleted",
    });
    tg.setBotAdmin(OPS, 5001, { can_delete_messages: true }, 11);
    expect(await api.deleteMessage(OPS, pasted.message_id)).toBe(true);
    const updates = await api.getUpdates({ timeout: 0 });
    expect(updates.map((u) => u.my_chat_member?.new_chat_member.status ?? u.message?.text)).toEqual([
      "administrator",
      "a pasted secret",
      "administrator",
    ]);
  });

  it("forum topics: messages carry message_thread_id, sends go to the topic named, and an unknown topic is refused", async () => {
    tg.addGroup({ id: -1003, title: "Forum", members: [11], bots: [5001], adminBots: [5001], forum: true });
    const topic = tg.addTopic(-1003, "Rotations", 11);
    tg.userSends({ from: 11, chat: -1003, text: "/age", topic });
    const [update] = await api.getUpdates({ timeout: 0 });
    expect(update!.message).toMatchObject({
      message_thread_id: topic,
      is_topic_message: true,
      chat: { is_forum: true },
    });
    const sent = await api.sendMessage(-1003, "in the topic", { message_thread_id: topic });
    expect(sent).toMatchObject({ message_thread_id: topic, is_topic_message: true });
    expect(await errorOf(api.sendMessage(-1003, "lost", { message_thread_id: 999 }))).toEqual({
      code: 400,
      description: "Bad Request: message thread not found",
    });
    expect(await errorOf(api.sendMessage(OPS, "not a forum", { message_thread_id: topic }))).toEqual({
      code: 400,
      description: "Bad Request: message thread not found",
    });
  });

  it("a group upgraded to a supergroup answers its old id with 400 and migrate_to_chat_id", async () => {
    tg.addGroup({ id: -4001, title: "Old ops", type: "group", members: [11], bots: [5001] });
    tg.migrateGroup(-4001, -1004001, 11);
    const refused = await api.sendMessage(-4001, "hello").catch((error: unknown) => error);
    expect(refused).toMatchObject({
      error_code: 400,
      description: "Bad Request: group chat was upgraded to a supergroup chat",
      parameters: { migrate_to_chat_id: -1004001 },
    });
    await api.sendMessage(-1004001, "hello");
    const notices = (await api.getUpdates({ timeout: 0 })).map((u) => u.message);
    expect(notices.map((m) => [m?.chat.id, m?.migrate_to_chat_id, m?.migrate_from_chat_id])).toEqual([
      [-4001, -1004001, undefined],
      [-1004001, undefined, -4001],
    ]);
  });

  it("a kicked bot gets 403 'bot was kicked' and my_chat_member; a muted one 400 'not enough rights'", async () => {
    tg.kickBot(OPS, 5001, 11);
    expect(await errorOf(api.sendMessage(OPS, "anyone?"))).toEqual({
      code: 403,
      description: "Forbidden: bot was kicked from the supergroup chat",
    });
    expect((await api.getUpdates({ timeout: 0 }))[0]?.my_chat_member?.new_chat_member.status).toBe("kicked");
    tg.addGroup({ id: -1005, title: "Quiet", members: [11], bots: [5001] });
    tg.muteBot(-1005, 5001, 11);
    expect(await errorOf(api.sendMessage(-1005, "hi"))).toEqual({
      code: 400,
      description: "Bad Request: not enough rights to send text messages to the chat",
    });
    expect(await api.getChatMember(-1005, 5001)).toMatchObject({ status: "restricted", can_send_messages: false });
  });

  it("can answer an error without a description, as a proxy may", async () => {
    tg.injectFault({ method: "sendMessage", status: 502, withoutDescription: true });
    const response = await fetch(`${tg.url}/bot${token}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chat_id: OPS, text: "x" }),
    });
    expect(await response.json()).toEqual({ ok: false, error_code: 502 });
  });
});
