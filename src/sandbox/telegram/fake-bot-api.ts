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
  /** Privacy mode (BotFather /setprivacy): on by default; getMe says `can_read_all_group_messages: false`. */
  privacyMode: boolean;
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
  callbacks: Map<string, CallbackQueryRecord>;
}

/** A button press and what became of its answer. */
export interface CallbackQueryRecord {
  id: string;
  botId: number;
  from: number;
  data: string;
  /** When the press was delivered to the bot's queue (ms since the epoch). */
  pressedAt: number;
  /** When the bot answered it in time, if it did. */
  answeredAt?: number;
  /** Answers refused because they came after the window (or a second time). */
  refused: number;
}

/** A bot's rights as an administrator of a group (the ChatMemberAdministrator fields rotabot reads). */
export interface AdminRights {
  can_delete_messages: boolean;
}

interface FakeChat {
  chat: Chat;
  members: Set<number>;
  bots: Set<number>;
  /** Bots that are administrators, with their rights. */
  adminBots: Map<number, AdminRights>;
  /** Bots removed by an admin: Telegram answers them 403 "bot was kicked". */
  kickedBots: Set<number>;
  /** Bots a group's permissions keep from writing: 400 "not enough rights". */
  mutedBots: Set<number>;
  /** Forum topics by message_thread_id (the id of the message that created the topic). */
  topics: Map<number, string>;
  /** Set once a basic group was upgraded to a supergroup: the new chat's id. */
  migratedTo?: number;
  /** Private chats are per bot: the key is `${botId}:${userId}`. */
  messages: Map<number, StoredMessage>;
  nextMessageId: number;
}

export interface Fault {
  method?: string;
  /** 400 and 403 need the `description` Telegram gives for them (a test copies it from Telegram's answer). */
  status: 400 | 403 | 429 | 500 | 502 | 503;
  description?: string;
  retryAfter?: number;
  times?: number;
  /**
   * Leave `description` out of the error reply. The docs say an unsuccessful reply "may" carry it
   * ("Making requests": `ok` false, "a human-readable description of the result ... may be
   * returned"); proxies in front of Telegram answer without it.
   */
  withoutDescription?: boolean;
}

/** Options of the local Bot API server. */
export interface FakeBotApiOptions {
  /**
   * How long a button press may wait for answerCallbackQuery; later answers are refused with
   * Telegram's 400 "query is too old…". Telegram does not document the window: bot authors see
   * refusals from about 10 s on (pyTelegramBotAPI#1615 "around 5-10 seconds";
   * /work/shared/design.md §4 "roughly 10-15 s"). The default is the short end, so a bot that
   * answers late fails here as it would there; tests of the expiry pass a shorter window.
   */
  callbackAnswerWindowMs?: number;
  /** The clock of presses and their answers (ms since the epoch): tests move it instead of waiting. */
  now?: () => number;
}

/** Telegram's window for answering a press, as this stand-in models it (see FakeBotApiOptions). */
export const CALLBACK_ANSWER_WINDOW_MS = 10_000;

/** The fake sender of an anonymous admin's message (see `userSends`). */
export const GROUP_ANONYMOUS_BOT: User = {
  id: 1087968824,
  is_bot: true,
  first_name: "Group",
  username: "GroupAnonymousBot",
};

const DEFAULT_EXCLUDED_UPDATES = new Set(["chat_member", "message_reaction", "message_reaction_count"]);
const FULL_RIGHTS: AdminRights = { can_delete_messages: true };
/** Who changed a bot's membership when a test does not say: Telegram's service account (id 777000). */
const TELEGRAM_SERVICE_USER: User = { id: 777000, is_bot: false, first_name: "Telegram" };

class TelegramError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
    readonly withoutDescription = false,
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
 * - Privacy mode in groups (on by default): a bot that is not an administrator sees only commands
 *   (for it), replies to its messages, messages that mention it by username, and service messages;
 *   an administrator, or a bot with privacy mode off, sees everything. getMe says which
 *   (`can_read_all_group_messages`: "True, if privacy mode is disabled for the bot", the docs, User).
 *   Sources: https://core.telegram.org/bots/features#privacy-mode; BotFather's /setprivacy: "your
 *   bot will only receive messages that either start with the '/' symbol or mention the bot by
 *   username" (quoted in dev.to/endykaufman, "how to receive messages in group chats").
 * - getChatMember: "administrator" with its rights (`can_delete_messages`), "member", "restricted"
 *   (`can_send_messages: false`), "kicked" or "left". Source: the docs, ChatMember and its kinds.
 * - Forum supergroups (`is_forum`): a message in a topic carries `message_thread_id` and
 *   `is_topic_message`; sendMessage/sendDocument take `message_thread_id` to post there, and an
 *   unknown topic is 400 "message thread not found". Source: the docs, Message and sendMessage
 *   ("Unique identifier for the target message thread (topic) of the forum; for forum supergroups only").
 * - A basic group upgraded to a supergroup: every call with the old id is 400 "group chat was
 *   upgraded to a supergroup chat" with `parameters.migrate_to_chat_id`; the old chat gets a service
 *   message with `migrate_to_chat_id`, the new one with `migrate_from_chat_id`. Sources: the docs,
 *   ResponseParameters and Message; the full reply as Telegram sent it in github.com/TwiN/gatus/issues/179.
 * - A bot removed from a group: 403 "Forbidden: bot was kicked from the supergroup chat" (group
 *   chat, channel chat), and a `my_chat_member` update with status "kicked"; a bot the group's
 *   permissions keep from writing: 400 "Bad Request: not enough rights to send text messages to the
 *   chat". Sources: tucnak/telebot errors.go (github.com/tucnak/telebot/pull/659), aiogram#445,
 *   TelegramBotAPI/errors#5.
 * - Button presses expire: an answer after the window (FakeBotApiOptions) is 400 "Bad Request:
 *   query is too old and response timeout expired or query ID is invalid" (aiogram_dialog#145 has
 *   the reply in full). `callbackQueries()` tells which presses were answered, and when.
 * - A bot writes privately only to users who started it: 403 "Forbidden: bot can't initiate
 *   conversation with a user". Source: the docs, sendMessage errors as Telegram returns them.
 * - Text 1-4096 characters after entity parsing; HTML and MarkdownV2 parsing with "can't parse
 *   entities" errors. Source: the docs, sendMessage and "Formatting options".
 * - callback_data 1-64 bytes (BUTTON_DATA_INVALID); a callback query is answered once.
 *   Source: the docs, InlineKeyboardButton and answerCallbackQuery.
 * - An edit that changes nothing: 400 "message is not modified". Source: Telegram's answer to
 *   editMessageText.
 * - deleteMessage: others' messages in a basic group as an administrator, in a supergroup only with
 *   `can_delete_messages`. Source: the docs, deleteMessage ("If the bot is an administrator of a
 *   group, it can delete any message there"; "If the bot has can_delete_messages administrator
 *   right in a supergroup or a channel, it can delete any message there").
 * - 429 carries `parameters.retry_after`. Source: the docs, ResponseParameters (faults are injected
 *   by tests with `injectFault`).
 */
export async function startFakeBotApi({
  callbackAnswerWindowMs = CALLBACK_ANSWER_WINDOW_MS,
  now: clock = Date.now,
}: FakeBotApiOptions = {}) {
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
    if (chat.migratedTo !== undefined)
      throw new TelegramError(400, "Bad Request: group chat was upgraded to a supergroup chat", {
        migrate_to_chat_id: chat.migratedTo,
      });
    if (chat.kickedBots.has(bot.user.id))
      throw new TelegramError(403, `Forbidden: bot was kicked from the ${chat.chat.type} chat`);
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

  /** A send's `message_thread_id`: a topic of a forum supergroup, or nothing. */
  function threadOf(chat: FakeChat, params: Record<string, ParamValue>): { message_thread_id?: number } {
    const thread = intParam(params.message_thread_id);
    if (thread === undefined) return {};
    if (!chat.topics.has(thread)) throw badRequest("message thread not found");
    return { message_thread_id: thread };
  }

  /** Sending needs the right to write there. */
  function checkCanWrite(bot: FakeBot, chat: FakeChat): void {
    if (chat.mutedBots.has(bot.user.id)) throw badRequest("not enough rights to send text messages to the chat");
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
      can_read_all_group_messages: !bot.privacyMode,
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
      const rights = chat.adminBots.get(userId);
      if (rights)
        return {
          status: "administrator",
          user,
          can_be_edited: false,
          is_anonymous: false,
          can_manage_chat: true,
          can_change_info: false,
          can_invite_users: true,
          can_restrict_members: false,
          can_promote_members: false,
          can_manage_video_chats: false,
          can_post_stories: false,
          can_edit_stories: false,
          can_delete_stories: false,
          ...rights,
        };
      if (chat.mutedBots.has(userId)) return { status: "restricted", user, is_member: true, can_send_messages: false };
      const status = chat.members.has(userId) || chat.bots.has(userId) ? "member" : "left";
      return { status, user };
    },
    sendMessage: (bot, params) => {
      const chat = resolveChat(bot, params.chat_id);
      checkCanWrite(bot, chat);
      const thread = threadOf(chat, params);
      const parsed = parseText(params, "text", 4096);
      const markup = parseMarkup(params.reply_markup);
      const replyTo = replyTarget(chat, params);
      return storeMessage(chat, bot.user.id, {
        ...thread,
        ...(thread.message_thread_id !== undefined ? { is_topic_message: true } : {}),
        from: bot.user,
        text: parsed.text,
        ...(parsed.entities.length > 0 ? { entities: parsed.entities } : {}),
        ...(markup ? { reply_markup: markup } : {}),
        ...(replyTo ? { reply_to_message: replyTo } : {}),
      } as Message).message;
    },
    sendDocument: (bot, params) => {
      const chat = resolveChat(bot, params.chat_id);
      checkCanWrite(bot, chat);
      const thread = threadOf(chat, params);
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
          ...thread,
          ...(thread.message_thread_id !== undefined ? { is_topic_message: true } : {}),
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
      const rights = chat.adminBots.get(bot.user.id);
      const mayDeleteOthers =
        chat.chat.type === "private" ||
        (rights !== undefined && (chat.chat.type === "group" || rights.can_delete_messages));
      if (!ownMessage && !mayDeleteOthers) throw badRequest("message can't be deleted");
      stored.deleted = true;
      events.emit("message", stored);
      return true;
    },
    answerCallbackQuery: (bot, params) => {
      const query = bot.callbacks.get(textParam(params.callback_query_id) ?? "");
      if (!query || query.answeredAt !== undefined || clock() - query.pressedAt > callbackAnswerWindowMs) {
        if (query) query.refused++;
        throw badRequest("query is too old and response timeout expired or query ID is invalid");
      }
      if ((textParam(params.text) ?? "").length > 200) throw badRequest("MESSAGE_TOO_LONG");
      query.answeredAt = clock();
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
          ...(error.withoutDescription ? {} : { description: error.description }),
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
            ? new TelegramError(
                429,
                `Too Many Requests: retry after ${fault.retryAfter ?? 1}`,
                { retry_after: fault.retryAfter ?? 1 },
                fault.withoutDescription,
              )
            : new TelegramError(
                fault.status,
                fault.description ??
                  (fault.status === 500 ? "Internal Server Error" : fault.status < 500 ? "Bad Request" : "Bad Gateway"),
                undefined,
                fault.withoutDescription,
              );
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

  /** The entities Telegram finds in plain text: commands (`/age@bot`) and mentions (`@name`), in order. */
  function textEntities(text: string) {
    const found = (pattern: RegExp, type: "bot_command" | "mention") =>
      [...text.matchAll(pattern)].map((m) => ({ type, offset: m.index + m[1]!.length, length: m[2]!.length }));
    return [
      ...found(/(^|\s)(\/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?)/g, "bot_command"),
      ...found(/(^|[\s(])(@[A-Za-z0-9_]{5,32})\b/g, "mention"),
    ].sort((a, b) => a.offset - b.offset);
  }

  /**
   * Privacy mode: in groups a bot that is no administrator sees commands meant for it, replies to
   * it, mentions of it and service messages; an administrator or a bot without privacy mode sees all.
   */
  function botSees(bot: FakeBot, chat: FakeChat, message: Message): boolean {
    if (chat.chat.type === "private" || chat.adminBots.has(bot.user.id) || !bot.privacyMode) return true;
    if (message.text === undefined) return false;
    if (message.reply_to_message?.from?.id === bot.user.id) return true;
    const name = bot.user.username.toLowerCase();
    const mentioned = (message.entities ?? []).some(
      (e) => e.type === "mention" && message.text!.slice(e.offset + 1, e.offset + e.length).toLowerCase() === name,
    );
    if (mentioned) return true;
    const first = message.entities?.[0];
    if (first?.type !== "bot_command" || first.offset !== 0) return false;
    const mention = message.text.slice(0, first.length).split("@")[1];
    return mention === undefined || mention.toLowerCase() === name;
  }

  function groupOf(chatId: number): FakeChat {
    const chat = chats.get(groupKey(chatId));
    if (!chat) throw new Error(`fake Telegram: no group ${chatId}`);
    return chat;
  }

  /** The bot hears that its status in a chat changed, as Telegram tells it (`my_chat_member`). */
  function tellMembership(chat: FakeChat, botId: number, before: string, after: string, by?: number): void {
    const bot = requireBot(botId);
    enqueue(bot, "my_chat_member", {
      chat: chat.chat,
      from: by === undefined ? TELEGRAM_SERVICE_USER : requireUser(by),
      date: now(),
      old_chat_member: { status: before, user: bot.user },
      new_chat_member: { status: after, user: bot.user, ...(after === "kicked" ? { until_date: 0 } : {}) },
    });
  }

  return {
    url,
    calls,
    events,

    /** Creates a bot with one valid token; privacy mode is on unless `privacyMode: false` (BotFather's default). */
    addBot({
      id,
      username,
      firstName = username,
      privacyMode = true,
    }: {
      id: number;
      username: string;
      firstName?: string;
      privacyMode?: boolean;
    }) {
      const token = `${id}:${randomTokenPart()}`;
      bots.set(id, {
        privacyMode,
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

    /**
     * A group, supergroup (a forum with `forum: true`) or channel with its members; bots listed in
     * adminBots are administrators with every right rotabot needs (see setBotAdmin for fewer).
     */
    addGroup({
      id,
      title,
      type = "supergroup",
      members,
      bots: botIds,
      adminBots = [],
      forum = false,
    }: {
      id: number;
      title: string;
      type?: "group" | "supergroup" | "channel";
      members: number[];
      bots: number[];
      adminBots?: number[];
      forum?: boolean;
    }) {
      if (forum && type !== "supergroup") throw new Error("fake Telegram: only a supergroup can be a forum");
      chats.set(groupKey(id), {
        chat: { id, type, title, ...(forum ? { is_forum: true } : {}) } as Chat,
        members: new Set(members),
        bots: new Set(botIds),
        adminBots: new Map(adminBots.map((botId) => [botId, { ...FULL_RIGHTS }])),
        kickedBots: new Set(),
        mutedBots: new Set(),
        topics: new Map(),
        messages: new Map(),
        nextMessageId: 1,
      });
    },

    /** Makes a bot an administrator with these rights, or (false) an ordinary member again. */
    setBotAdmin(chatId: number, botId: number, rights: Partial<AdminRights> | false, by?: number): void {
      const chat = groupOf(chatId);
      const before = chat.adminBots.has(botId) ? "administrator" : "member";
      if (rights === false) chat.adminBots.delete(botId);
      else chat.adminBots.set(botId, { ...FULL_RIGHTS, ...rights });
      tellMembership(chat, botId, before, rights === false ? "member" : "administrator", by);
    },

    /** An admin removes the bot from the group: from now on it gets 403 "bot was kicked". */
    kickBot(chatId: number, botId: number, by?: number): void {
      const chat = groupOf(chatId);
      const before = chat.adminBots.has(botId) ? "administrator" : "member";
      chat.bots.delete(botId);
      chat.adminBots.delete(botId);
      chat.kickedBots.add(botId);
      tellMembership(chat, botId, before, "kicked", by);
    },

    /** The group's permissions keep the bot from writing (it is "restricted"): sends get 400 "not enough rights". */
    muteBot(chatId: number, botId: number, by?: number): void {
      const chat = groupOf(chatId);
      chat.mutedBots.add(botId);
      tellMembership(chat, botId, "member", "restricted", by);
    },

    /** Creates a topic in a forum supergroup; its id is the message_thread_id of its messages. */
    addTopic(chatId: number, name: string, by: number): number {
      const chat = groupOf(chatId);
      if (!(chat.chat as { is_forum?: boolean }).is_forum) throw new Error(`fake Telegram: ${chatId} is not a forum`);
      const created = storeMessage(chat, 0, {
        from: requireUser(by),
        forum_topic_created: { name, icon_color: 0x6fb9f0 },
      });
      const thread = created.message.message_id;
      created.message = { ...created.message, message_thread_id: thread, is_topic_message: true };
      chat.topics.set(thread, name);
      return thread;
    },

    /**
     * The basic group becomes a supergroup with a new id (Telegram does this when, for example, the
     * history is made visible to new members): its members, bots and their rights move over, the old
     * id answers 400 with `migrate_to_chat_id`, and each bot gets the two service messages.
     */
    migrateGroup(chatId: number, newId: number, by?: number): void {
      const old = groupOf(chatId);
      if (old.chat.type !== "group") throw new Error("fake Telegram: only a basic group is upgraded");
      chats.set(groupKey(newId), {
        chat: { id: newId, type: "supergroup", title: (old.chat as { title: string }).title },
        members: new Set(old.members),
        bots: new Set(old.bots),
        adminBots: new Map(old.adminBots),
        kickedBots: new Set(old.kickedBots),
        mutedBots: new Set(old.mutedBots),
        topics: new Map(),
        messages: new Map(),
        nextMessageId: 1,
      });
      const fresh = groupOf(newId);
      const user = by === undefined ? TELEGRAM_SERVICE_USER : requireUser(by);
      const notices = [
        storeMessage(old, 0, { from: user, migrate_to_chat_id: newId }),
        storeMessage(fresh, 0, { from: user, migrate_from_chat_id: chatId }),
      ];
      old.migratedTo = newId;
      for (const botId of fresh.bots)
        for (const notice of notices) enqueue(requireBot(botId), "message", notice.message);
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
      topic,
    }: {
      from: number;
      chat: number | "private";
      text: string;
      bot?: number;
      replyTo?: number;
      anonymous?: boolean;
      /** A forum topic's message_thread_id (see addTopic); the General topic has none. */
      topic?: number;
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
            adminBots: new Map(),
            kickedBots: new Set(),
            mutedBots: new Set(),
            topics: new Map(),
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
        if (target.migratedTo !== undefined)
          throw new Error(`fake Telegram: group ${chat} is now supergroup ${target.migratedTo}`);
      }
      if (topic !== undefined && !target.topics.has(topic))
        throw new Error(`fake Telegram: no topic ${topic} in chat ${chat}`);
      if (anonymous && target.chat.type !== "group" && target.chat.type !== "supergroup")
        throw new Error("fake Telegram: only a group's admins can write anonymously");
      const entities = textEntities(text);
      const replyToMessage = replyTo === undefined ? undefined : target.messages.get(replyTo)?.message;
      const stored = storeMessage(target, 0, {
        ...(topic !== undefined ? { message_thread_id: topic, is_topic_message: true } : {}),
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
      bot.callbacks.set(id, { id, botId: bot.user.id, from, data, pressedAt: clock(), refused: 0 });
      enqueue(bot, "callback_query", { id, from: user, message: stored.message, chat_instance: String(chat), data });
      return id;
    },

    /** Every button press so far and what became of its answer (answered in time, refused, or not yet). */
    callbackQueries(): CallbackQueryRecord[] {
      return [...bots.values()].flatMap((bot) => [...bot.callbacks.values()].map((q) => ({ ...q })));
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
