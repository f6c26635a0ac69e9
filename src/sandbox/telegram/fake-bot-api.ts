import { EventEmitter } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { BotCommand, Chat, InlineKeyboardMarkup, Message, Update, User } from "grammy/types";
import { EntityParseError, parseWithMode } from "./parse-entities.js";
import {
  intParam,
  isUploadedFile,
  jsonParam,
  readRequestParams,
  textParam,
  type ParamValue,
  type UploadedFile,
} from "./request-params.js";

/** Every call a bot made, as the server saw it. */
export interface RecordedCall {
  botId: number;
  method: string;
  params: Record<string, ParamValue>;
  ok: boolean;
  status: number;
  result?: unknown;
  description?: string;
  at: number;
}

/** A message as the chat shows it now (after edits and deletions). */
export interface StoredMessage {
  message: Message;
  botId: number;
  deleted: boolean;
  edits: number;
  document?: UploadedFile;
}

interface FakeBot {
  user: User & { username: string };
  /** The bot's one valid token: Telegram never has two for a bot. */
  token: string;
  updates: Update[];
  allowedUpdates: string[] | undefined;
  waiter:
    | {
        res: ServerResponse;
        token: string;
        timer: NodeJS.Timeout;
        settle: (updates: Update[] | "conflict" | "unauthorized") => void;
      }
    | undefined;
  startedBy: Set<number>;
  commands: Map<string, BotCommand[]>;
  callbacks: Map<string, { answered: boolean; from: number; at: number }>;
}

interface FakeChat {
  chat: Chat;
  members: Set<number>;
  bots: Set<number>;
  adminBots: Set<number>;
  /** Private chats are per bot: the key is `${botId}:${userId}`. */
  messages: Map<number, StoredMessage>;
  nextMessageId: number;
}

export interface Fault {
  method?: string;
  status: 429 | 500 | 502 | 503;
  retryAfter?: number;
  times?: number;
}

/** The fake sender of an anonymous admin's message (see `userSends`). */
export const GROUP_ANONYMOUS_BOT: User = {
  id: 1087968824,
  is_bot: true,
  first_name: "Group",
  username: "GroupAnonymousBot",
};

const DEFAULT_EXCLUDED_UPDATES = new Set(["chat_member", "message_reaction", "message_reaction_count"]);
const CALLBACK_QUERY_LIFETIME_MS = 15 * 60_000;

class TelegramError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}
const badRequest = (detail: string) => new TelegramError(400, `Bad Request: ${detail}`);

/**
 * A local Telegram Bot API server for tests and the sandbox. Behaves like Telegram (Bot API at
 * https://core.telegram.org/bots/api, "the docs" below), each behaviour pinned by
 * test/integration/sandbox/fake-bot-api.test.ts:
 *
 * - One bot, one valid token. A new token from BotFather revokes the old one at once, and there is
 *   never a second valid token ("revoke" = generate a new token). Source: Telegram's
 *   bots.exportBotToken, `revoke`: "revoke the current token and generate a new one"
 *   (https://core.telegram.org/method/bots.exportBotToken); /work/shared/design.md §5 [verified].
 *   Here: `issueNewToken(botId)`; a long poll held with the old token is cut with 401.
 * - A token is `<bot id>:<secret>`; the bot id is the part before ':' and getMe returns it.
 *   Source: the docs, "Authorizing your bot" (`123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11`).
 * - Unknown or revoked token: HTTP 401 `{"ok":false,"error_code":401,"description":"Unauthorized"}`.
 *   Source: the docs, "Making requests" (error_code, description).
 * - getUpdates: `offset` confirms every earlier update, `timeout` holds the request until an
 *   update arrives or the time is up, `allowed_updates` applies to updates created after the call.
 *   Source: the docs, getUpdates.
 * - A second getUpdates with one token ends the first: 409 "Conflict: terminated by other
 *   getUpdates request; make sure that only one bot instance is running". Source: Telegram's
 *   response as bot libraries report it (e.g. github.com/Eomm/fastify-telegram/issues/3).
 * - Privacy mode in groups: a bot sees commands (for it), replies to its messages, and everything
 *   when it is an administrator. Source: https://core.telegram.org/bots/features#privacy-mode.
 * - A bot writes privately only to users who started it: 403 "Forbidden: bot can't initiate
 *   conversation with a user". Source: the docs, sendMessage errors as Telegram returns them.
 * - Text 1-4096 characters after entity parsing; HTML and MarkdownV2 parsing with "can't parse
 *   entities" errors. Source: the docs, sendMessage and "Formatting options".
 * - callback_data 1-64 bytes (BUTTON_DATA_INVALID); a callback query is answered once.
 *   Source: the docs, InlineKeyboardButton and answerCallbackQuery.
 * - An edit that changes nothing: 400 "message is not modified". Source: Telegram's answer to
 *   editMessageText.
 * - deleteMessage: others' messages in groups only as an administrator. Source: the docs, deleteMessage.
 * - 429 carries `parameters.retry_after`. Source: the docs, ResponseParameters (faults are injected
 *   by tests with `injectFault`).
 */
export async function startFakeBotApi() {
  const bots = new Map<number, FakeBot>();
  const tokenOwner = new Map<string, number>();
  const users = new Map<number, User>();
  const chats = new Map<string, FakeChat>();
  const calls: RecordedCall[] = [];
  const faults: (Fault & { remaining: number })[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(100);
  let nextUpdateId = 700_000_000;
  let nextFileId = 1;
  let nextCallbackId = 1;

  const now = () => Math.floor(Date.now() / 1000);
  const groupKey = (chatId: number) => `group:${chatId}`;
  const privateKey = (botId: number, userId: number) => `private:${botId}:${userId}`;

  function enqueue(bot: FakeBot, type: string, payload: unknown): void {
    const allowed = bot.allowedUpdates;
    if (allowed && allowed.length > 0 ? !allowed.includes(type) : DEFAULT_EXCLUDED_UPDATES.has(type)) return;
    bot.updates.push({ update_id: nextUpdateId++, [type]: payload });
    if (bot.waiter) bot.waiter.settle(bot.updates.slice(0, 100));
  }

  function resolveChat(bot: FakeBot, chatIdParam: ParamValue | undefined): FakeChat {
    if (chatIdParam === undefined || chatIdParam === "") throw badRequest("chat_id is empty");
    const chatId = intParam(chatIdParam);
    if (chatId === undefined) throw badRequest("chat not found");
    if (chatId > 0) {
      const chat = chats.get(privateKey(bot.user.id, chatId));
      if (!users.has(chatId)) throw badRequest("chat not found");
      if (!chat || !bot.startedBy.has(chatId))
        throw new TelegramError(403, "Forbidden: bot can't initiate conversation with a user");
      return chat;
    }
    const chat = chats.get(groupKey(chatId));
    if (!chat) throw badRequest("chat not found");
    if (!chat.bots.has(bot.user.id)) {
      throw new TelegramError(
        403,
        chat.chat.type === "supergroup"
          ? "Forbidden: bot is not a member of the supergroup chat"
          : "Forbidden: bot is not a member of the group chat",
      );
    }
    return chat;
  }

  function parseMarkup(value: ParamValue | undefined): InlineKeyboardMarkup | undefined {
    let markup: Record<string, unknown> | undefined;
    try {
      markup = jsonParam<Record<string, unknown>>(value);
    } catch {
      throw badRequest("can't parse reply keyboard markup JSON object");
    }
    if (!markup) return undefined;
    if ("inline_keyboard" in markup) {
      const rows = markup.inline_keyboard;
      if (!Array.isArray(rows) || rows.some((row) => !Array.isArray(row)))
        throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
      for (const button of rows.flat() as Record<string, unknown>[]) {
        if (typeof button.text !== "string" || button.text === "")
          throw badRequest("text buttons are unallowed in the inline keyboard");
        if (typeof button.callback_data === "string") {
          const bytes = Buffer.byteLength(button.callback_data);
          if (bytes < 1 || bytes > 64) throw badRequest("BUTTON_DATA_INVALID");
        } else if (typeof button.url !== "string" && !("switch_inline_query" in button) && !("copy_text" in button)) {
          throw badRequest("text buttons are unallowed in the inline keyboard");
        }
      }
    }
    return markup as unknown as InlineKeyboardMarkup;
  }

  function parseText(params: Record<string, ParamValue>, field: "text" | "caption", limit: number) {
    const raw = textParam(params[field]);
    if (field === "text" && (raw === undefined || raw === "")) throw badRequest("message text is empty");
    if (raw === undefined) return { text: undefined, entities: [] };
    let parsed;
    try {
      parsed = parseWithMode(raw, params.parse_mode);
    } catch (error) {
      if (error instanceof EntityParseError) throw new TelegramError(400, error.message);
      throw error;
    }
    if (field === "text" && parsed.text.trim() === "") throw badRequest("message text is empty");
    if (parsed.text.length > limit)
      throw badRequest(field === "text" ? "message is too long" : "message caption is too long");
    return parsed;
  }

  function storeMessage(
    chat: FakeChat,
    botId: number,
    message: Omit<Message, "message_id" | "date" | "chat">,
    document?: UploadedFile,
  ): StoredMessage {
    const stored: StoredMessage = {
      message: { ...message, message_id: chat.nextMessageId++, date: now(), chat: chat.chat },
      botId,
      deleted: false,
      edits: 0,
      ...(document ? { document } : {}),
    };
    chat.messages.set(stored.message.message_id, stored);
    events.emit("message", stored);
    return stored;
  }

  function replyTarget(chat: FakeChat, params: Record<string, ParamValue>): Message | undefined {
    const reply = jsonParam<{ message_id: number; allow_sending_without_reply?: boolean }>(params.reply_parameters);
    const id = reply?.message_id ?? intParam(params.reply_to_message_id);
    if (id === undefined) return undefined;
    const target = chat.messages.get(id);
    if (!target || target.deleted) {
      if (reply?.allow_sending_without_reply || params.allow_sending_without_reply === true) return undefined;
      throw badRequest("message to be replied not found");
    }
    return target.message;
  }

  function findMessage(chat: FakeChat, params: Record<string, ParamValue>, action: "edit" | "delete"): StoredMessage {
    const stored = chat.messages.get(intParam(params.message_id) ?? -1);
    if (!stored || stored.deleted) throw badRequest(`message to ${action} not found`);
    return stored;
  }

  /** editMessageText / editMessageReplyMarkup: Telegram refuses an edit that changes nothing. */
  function editMessage(bot: FakeBot, params: Record<string, ParamValue>, withText: boolean): Message {
    const chat = resolveChat(bot, params.chat_id);
    const stored = findMessage(chat, params, "edit");
    if (stored.botId !== bot.user.id || (withText && stored.message.text === undefined))
      throw badRequest("message can't be edited");
    const parsed = withText
      ? parseText(params, "text", 4096)
      : { text: stored.message.text, entities: stored.message.entities ?? [] };
    const markup = parseMarkup(params.reply_markup);
    const before = JSON.stringify([
      stored.message.text,
      stored.message.entities ?? [],
      stored.message.reply_markup ?? null,
    ]);
    if (before === JSON.stringify([parsed.text, parsed.entities, markup ?? null])) {
      throw badRequest(
        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      );
    }
    const message = { ...stored.message, edit_date: now() } as Message & {
      text?: string;
      entities?: unknown;
      reply_markup?: unknown;
    };
    if (parsed.text !== undefined) message.text = parsed.text;
    if (parsed.entities.length > 0) message.entities = parsed.entities;
    else delete message.entities;
    if (markup) message.reply_markup = markup;
    else delete message.reply_markup;
    stored.message = message;
    stored.edits++;
    events.emit("message", stored);
    return stored.message;
  }

  type Handler = (bot: FakeBot, params: Record<string, ParamValue>, res: ServerResponse) => unknown;
  const methods: Record<string, Handler> = {
    getMe: (bot) => ({
      ...bot.user,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    }),
    deleteWebhook: () => true,
    getWebhookInfo: () => ({ url: "", has_custom_certificate: false, pending_update_count: 0 }),
    setMyCommands: (bot, params) => {
      const commands = jsonParam<BotCommand[]>(params.commands);
      if (!Array.isArray(commands) || commands.length > 100)
        throw badRequest("commands must be an array of at most 100 BotCommand");
      for (const c of commands) {
        if (!/^[a-z0-9_]{1,32}$/.test(c.command)) throw badRequest("BOT_COMMAND_INVALID");
        if (typeof c.description !== "string" || c.description.length < 1 || c.description.length > 256)
          throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
      }
      bot.commands.set(
        JSON.stringify(jsonParam(params.scope) ?? { type: "default" }) + (textParam(params.language_code) ?? ""),
        commands,
      );
      return true;
    },
    getMyCommands: (bot, params) =>
      bot.commands.get(
        JSON.stringify(jsonParam(params.scope) ?? { type: "default" }) + (textParam(params.language_code) ?? ""),
      ) ?? [],
    getChat: (bot, params) => resolveChat(bot, params.chat_id).chat,
    getChatMember: (bot, params) => {
      const chat = resolveChat(bot, params.chat_id);
      const userId = intParam(params.user_id) ?? 0;
      const user = userId === bot.user.id ? bot.user : users.get(userId);
      if (!user) throw badRequest("PARTICIPANT_ID_INVALID");
      const isBotAdmin = userId === bot.user.id && chat.adminBots.has(userId);
      const status = isBotAdmin
        ? "administrator"
        : chat.members.has(userId) || chat.bots.has(userId)
          ? "member"
          : "left";
      return { status, user, ...(isBotAdmin ? { can_delete_messages: true } : {}) };
    },
    sendMessage: (bot, params) => {
      const chat = resolveChat(bot, params.chat_id);
      const parsed = parseText(params, "text", 4096);
      const markup = parseMarkup(params.reply_markup);
      const replyTo = replyTarget(chat, params);
      return storeMessage(chat, bot.user.id, {
        from: bot.user,
        text: parsed.text,
        ...(parsed.entities.length > 0 ? { entities: parsed.entities } : {}),
        ...(markup ? { reply_markup: markup } : {}),
        ...(replyTo ? { reply_to_message: replyTo } : {}),
      } as Message).message;
    },
    sendDocument: (bot, params) => {
      const chat = resolveChat(bot, params.chat_id);
      const document = params.document;
      if (!isUploadedFile(document))
        throw badRequest(
          typeof document === "string"
            ? "wrong file identifier/HTTP URL specified"
            : "there is no document in the request",
        );
      if (document.content.length === 0) throw badRequest("file must be non-empty");
      const caption = parseText(params, "caption", 1024);
      const markup = parseMarkup(params.reply_markup);
      const fileId = `fake-file-${nextFileId++}`;
      return storeMessage(
        chat,
        bot.user.id,
        {
          from: bot.user,
          document: {
            file_id: fileId,
            file_unique_id: fileId,
            file_name: document.filename,
            mime_type: document.contentType,
            file_size: document.content.length,
          },
          ...(caption.text !== undefined ? { caption: caption.text } : {}),
          ...(caption.entities.length > 0 ? { caption_entities: caption.entities } : {}),
          ...(markup ? { reply_markup: markup } : {}),
        },
        document,
      ).message;
    },
    editMessageText: (bot, params) => editMessage(bot, params, true),
    editMessageReplyMarkup: (bot, params) => editMessage(bot, params, false),
    deleteMessage: (bot, params) => {
      const chat = resolveChat(bot, params.chat_id);
      const stored = findMessage(chat, params, "delete");
      const ownMessage = stored.message.from?.id === bot.user.id;
      if (chat.chat.type !== "private" && !ownMessage && !chat.adminBots.has(bot.user.id))
        throw badRequest("message can't be deleted");
      stored.deleted = true;
      events.emit("message", stored);
      return true;
    },
    answerCallbackQuery: (bot, params) => {
      const query = bot.callbacks.get(textParam(params.callback_query_id) ?? "");
      if (!query || query.answered || Date.now() - query.at > CALLBACK_QUERY_LIFETIME_MS) {
        throw badRequest("query is too old and response timeout expired or query ID is invalid");
      }
      if ((textParam(params.text) ?? "").length > 200) throw badRequest("MESSAGE_TOO_LONG");
      query.answered = true;
      return true;
    },
  };

  function pollUpdates(bot: FakeBot, token: string, params: Record<string, ParamValue>, res: ServerResponse): void {
    const offset = intParam(params.offset);
    const limit = Math.min(Math.max(intParam(params.limit) ?? 100, 1), 100);
    const timeout = Math.max(intParam(params.timeout) ?? 0, 0);
    const allowed = jsonParam<string[]>(params.allowed_updates);
    if (allowed !== undefined) bot.allowedUpdates = allowed;
    if (offset !== undefined) {
      if (offset < 0) bot.updates = bot.updates.slice(offset);
      else bot.updates = bot.updates.filter((u) => u.update_id >= offset);
    }
    const respond = (updates: Update[] | "conflict" | "unauthorized") => {
      if (updates === "unauthorized") {
        reply(res, bot.user.id, "getUpdates", params, new TelegramError(401, "Unauthorized"));
      } else if (updates === "conflict") {
        reply(
          res,
          bot.user.id,
          "getUpdates",
          params,
          new TelegramError(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
          ),
        );
      } else {
        reply(res, bot.user.id, "getUpdates", params, updates.slice(0, limit));
      }
    };
    if (bot.waiter) {
      bot.waiter.settle("conflict");
    }
    if (bot.updates.length > 0 || timeout === 0) {
      respond(bot.updates.slice(0, limit));
      return;
    }
    const settle = (updates: Update[] | "conflict" | "unauthorized") => {
      if (bot.waiter?.res !== res) return;
      clearTimeout(bot.waiter.timer);
      bot.waiter = undefined;
      respond(updates);
    };
    bot.waiter = { res, token, timer: setTimeout(() => settle([]), timeout * 1000), settle };
    events.emit("held", bot.user.id);
    res.on("close", () => {
      if (bot.waiter?.res === res) {
        clearTimeout(bot.waiter.timer);
        bot.waiter = undefined;
      }
    });
  }

  function reply(
    res: ServerResponse,
    botId: number,
    method: string,
    params: Record<string, ParamValue>,
    outcome: unknown,
  ): void {
    const error = outcome instanceof TelegramError ? outcome : undefined;
    const body = error
      ? {
          ok: false,
          error_code: error.status,
          description: error.description,
          ...(error.parameters ? { parameters: error.parameters } : {}),
        }
      : { ok: true, result: outcome };
    const call: RecordedCall = {
      botId,
      method,
      params,
      ok: !error,
      status: error?.status ?? 200,
      at: Date.now(),
      ...(error ? { description: error.description } : { result: outcome }),
    };
    calls.push(call);
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(error?.status ?? 200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    }
    events.emit("call", call);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!match) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ ok: false, error_code: 404, description: "Not Found" }));
      return;
    }
    const [, token, method] = match as unknown as [string, string, string];
    void (async () => {
      let params: Record<string, ParamValue> = {};
      const botId = tokenOwner.get(token);
      try {
        params = await readRequestParams(req, url);
        const bot = botId === undefined ? undefined : bots.get(botId);
        if (!bot || bot.token !== token) throw new TelegramError(401, "Unauthorized");
        const fault = faults.find((f) => f.remaining > 0 && (f.method === undefined || f.method === method));
        if (fault) {
          fault.remaining--;
          throw fault.status === 429
            ? new TelegramError(429, `Too Many Requests: retry after ${fault.retryAfter ?? 1}`, {
                retry_after: fault.retryAfter ?? 1,
              })
            : new TelegramError(fault.status, fault.status === 500 ? "Internal Server Error" : "Bad Gateway");
        }
        if (method === "getUpdates") {
          pollUpdates(bot, token, params, res);
          return;
        }
        const handler = methods[method];
        if (!handler) throw new TelegramError(404, "Not Found");
        reply(res, bot.user.id, method, params, handler(bot, params, res));
      } catch (error) {
        if (error instanceof TelegramError) reply(res, botId ?? 0, method, params, error);
        else
          reply(
            res,
            botId ?? 0,
            method,
            params,
            new TelegramError(500, `Internal Server Error: ${(error as Error).message}`),
          );
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function requireBot(botId?: number): FakeBot {
    const bot = botId === undefined ? [...bots.values()][0] : bots.get(botId);
    if (!bot) throw new Error(`fake Telegram: no bot ${botId ?? "(none created)"}`);
    return bot;
  }

  function requireUser(userId: number): User {
    const user = users.get(userId);
    if (!user) throw new Error(`fake Telegram: no user ${userId}`);
    return user;
  }

  function commandEntities(text: string) {
    return [...text.matchAll(/(^|\s)(\/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?)/g)].map((m) => ({
      type: "bot_command" as const,
      offset: m.index + m[1]!.length,
      length: m[2]!.length,
    }));
  }

  /** Privacy mode: in groups a bot sees commands meant for it, replies to it, and everything when admin. */
  function botSees(bot: FakeBot, chat: FakeChat, message: Message): boolean {
    if (chat.chat.type === "private" || chat.adminBots.has(bot.user.id)) return true;
    if (message.reply_to_message?.from?.id === bot.user.id) return true;
    const first = message.entities?.[0];
    if (first?.type !== "bot_command" || first.offset !== 0) return false;
    const mention = message.text!.slice(0, first.length).split("@")[1];
    return mention === undefined || mention.toLowerCase() === bot.user.username.toLowerCase();
  }

  return {
    url,
    calls,
    events,

    /** Creates a bot with one valid token. */
    addBot({ id, username, firstName = username }: { id: number; username: string; firstName?: string }) {
      const token = `${id}:${randomTokenPart()}`;
      bots.set(id, {
        user: { id, is_bot: true, first_name: firstName, username },
        token,
        updates: [],
        allowedUpdates: undefined,
        waiter: undefined,
        startedBy: new Set(),
        commands: new Map(),
        callbacks: new Map(),
      });
      tokenOwner.set(token, id);
      return { id, token };
    },

    /**
     * BotFather's /revoke (a new token for an existing bot): the old token answers 401 from now on
     * (a long poll held with it is cut off) and the returned token is the bot's only valid one.
     */
    issueNewToken(botId: number): string {
      const bot = requireBot(botId);
      const old = bot.token;
      bot.token = `${botId}:${randomTokenPart()}`;
      tokenOwner.set(bot.token, botId);
      if (bot.waiter?.token === old) bot.waiter.settle("unauthorized");
      return bot.token;
    },

    /** The bot's one valid token. */
    tokenOf(botId: number): string {
      return requireBot(botId).token;
    },

    addUser(user: { id: number; first_name: string; username?: string; last_name?: string }): User {
      const full: User = { is_bot: false, ...user };
      users.set(user.id, full);
      return full;
    },

    /** A group or supergroup with its members; bots listed in adminBots see every message and may delete others'. */
    addGroup({
      id,
      title,
      type = "supergroup",
      members,
      bots: botIds,
      adminBots = [],
    }: {
      id: number;
      title: string;
      type?: "group" | "supergroup" | "channel";
      members: number[];
      bots: number[];
      adminBots?: number[];
    }) {
      chats.set(groupKey(id), {
        chat: { id, type, title },
        members: new Set(members),
        bots: new Set(botIds),
        adminBots: new Set(adminBots),
        messages: new Map(),
        nextMessageId: 1,
      });
    },

    /**
     * A user sends text to a group (chat id) or to the bot privately (chat "private"). `anonymous`
     * sends it as the group's anonymous admin ("Remain anonymous"), as Telegram delivers it: the
     * Bot API's Message docs say `sender_chat` is "the supergroup itself for messages sent by its
     * anonymous administrators" and that `from` then "contains a fake sender user in non-channel
     * chats"; that user is @GroupAnonymousBot, id 1087968824 (TDLib, td/telegram/UserManager.cpp,
     * `get_anonymous_bot_user_id`, production DC).
     */
    userSends({
      from,
      chat,
      text,
      bot: botId,
      replyTo,
      anonymous = false,
    }: {
      from: number;
      chat: number | "private";
      text: string;
      bot?: number;
      replyTo?: number;
      anonymous?: boolean;
    }): Message {
      const user = requireUser(from);
      const bot = requireBot(botId);
      let target: FakeChat;
      if (chat === "private") {
        const key = privateKey(bot.user.id, from);
        if (!chats.has(key)) {
          chats.set(key, {
            chat: {
              id: from,
              type: "private",
              first_name: user.first_name,
              ...(user.username ? { username: user.username } : {}),
            },
            members: new Set([from]),
            bots: new Set([bot.user.id]),
            adminBots: new Set(),
            messages: new Map(),
            nextMessageId: 1,
          });
        }
        bot.startedBy.add(from);
        target = chats.get(key)!;
      } else {
        target =
          chats.get(groupKey(chat)) ??
          (() => {
            throw new Error(`fake Telegram: no group ${chat}`);
          })();
        if (!target.members.has(from)) throw new Error(`fake Telegram: user ${from} is not in group ${chat}`);
      }
      if (anonymous && target.chat.type !== "group" && target.chat.type !== "supergroup")
        throw new Error("fake Telegram: only a group's admins can write anonymously");
      const entities = commandEntities(text);
      const replyToMessage = replyTo === undefined ? undefined : target.messages.get(replyTo)?.message;
      const stored = storeMessage(target, 0, {
        ...(anonymous ? { from: GROUP_ANONYMOUS_BOT, sender_chat: target.chat } : { from: user }),
        text,
        ...(entities.length > 0 ? { entities } : {}),
        ...(replyToMessage ? { reply_to_message: replyToMessage } : {}),
      } as Message);
      for (const candidate of chat === "private" ? [bot] : [...target.bots].map((id) => requireBot(id))) {
        if (botSees(candidate, target, stored.message)) enqueue(candidate, "message", stored.message);
      }
      return stored.message;
    },

    /** A user presses an inline button; `forge` skips the check that the button exists, as a modified client could. */
    pressButton({
      from,
      chat,
      messageId,
      data,
      bot: botId,
      forge = false,
    }: {
      from: number;
      chat: number;
      messageId: number;
      data: string;
      bot?: number;
      forge?: boolean;
    }): string {
      const user = requireUser(from);
      const bot = requireBot(botId);
      const target = chats.get(chat > 0 ? privateKey(bot.user.id, chat) : groupKey(chat));
      const stored = target?.messages.get(messageId);
      if (!target || !stored || stored.deleted)
        throw new Error(`fake Telegram: no message ${messageId} in chat ${chat}`);
      const buttons = (stored.message.reply_markup?.inline_keyboard ?? []).flat();
      if (!forge && !buttons.some((b) => "callback_data" in b && b.callback_data === data)) {
        throw new Error(`fake Telegram: message ${messageId} has no button with data "${data}"`);
      }
      const id = String(nextCallbackId++);
      bot.callbacks.set(id, { answered: false, from, at: Date.now() });
      enqueue(bot, "callback_query", { id, from: user, message: stored.message, chat_instance: String(chat), data });
      return id;
    },

    /** Messages in a chat as it shows now; for private chats pass the user id. */
    messages(chat: number, botId?: number): StoredMessage[] {
      const target = chats.get(chat > 0 ? privateKey(requireBot(botId).user.id, chat) : groupKey(chat));
      return target ? [...target.messages.values()] : [];
    },

    /** Every file a bot uploaded, for leak scans. */
    documents(): UploadedFile[] {
      return [...chats.values()].flatMap((c) =>
        [...c.messages.values()].flatMap((m) => (m.document ? [m.document] : [])),
      );
    },

    commandsOf(botId?: number, scope: object = { type: "default" }): BotCommand[] | undefined {
      return requireBot(botId).commands.get(JSON.stringify(scope));
    },

    /** Fails the next `times` matching calls with the status (429 carries retry_after). */
    injectFault(fault: Fault): void {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },

    /** Resolves with the first message (new or edited) that matches, waiting up to `timeoutMs`. */
    waitForMessage(predicate: (m: StoredMessage) => boolean, timeoutMs = 10_000): Promise<StoredMessage> {
      const existing = [...chats.values()].flatMap((c) => [...c.messages.values()]).find(predicate);
      if (existing) return Promise.resolve(existing);
      return waitForEvent<StoredMessage>(events, "message", predicate, timeoutMs, "message");
    },

    /**
     * Resolves once a long poll of the bot (the first one when `botId` is omitted) is held,
     * waiting for updates: what a test does next happens while that poll is open.
     */
    waitForHeldPoll(botId?: number, timeoutMs = 10_000): Promise<void> {
      const bot = requireBot(botId);
      if (bot.waiter) return Promise.resolve();
      return waitForEvent<number>(events, "held", (id) => id === bot.user.id, timeoutMs, "held poll").then(
        () => undefined,
      );
    },

    /** Resolves with the first call from now on that matches. */
    waitForCall(predicate: (c: RecordedCall) => boolean, timeoutMs = 10_000): Promise<RecordedCall> {
      return waitForEvent<RecordedCall>(events, "call", predicate, timeoutMs, "call");
    },

    async close(): Promise<void> {
      for (const bot of bots.values()) if (bot.waiter) bot.waiter.settle([]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeBotApi = Awaited<ReturnType<typeof startFakeBotApi>>;

function waitForEvent<T>(
  events: EventEmitter,
  name: string,
  predicate: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (value: T) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      events.off(name, listener);
      resolve(value);
    };
    const timer = setTimeout(() => {
      events.off(name, listener);
      reject(new Error(`fake Telegram: no matching ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    events.on(name, listener);
  });
}

function randomTokenPart(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  return Array.from({ length: 35 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
}
