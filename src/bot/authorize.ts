import type { Context, MiddlewareFn } from "grammy";
import type { Chat } from "grammy/types";
import type { Audit, ChatRef } from "../audit/create-audit.js";
import type { Logger } from "../logging/create-logger.js";
import type { Actor } from "../model/rotation.js";
import { clip } from "../telegram/user-text.js";
import { isAddressedToMe, isForAnotherBot } from "./protocol/addressed.js";

/** How a refusal reaches whoever is refused: one attempt each, never retried. */
export interface RefusalSender {
  /** Posts the refusal in a chat. */
  send(chatId: number, text: string): Promise<unknown>;
  /** Answers a button press: with an alert when `text` is given, else silently (the spinner stops). */
  answer(callbackQueryId: string, text?: string): Promise<unknown>;
}

export interface AuthorizeDeps {
  operatorIds: readonly number[];
  opsChatId: number;
  audit: Audit;
  /**
   * Sends refusals. Pass one without auto-retry: a refusal that hits Telegram's rate limit is
   * dropped, never waited out, since operators' replies share the chat's limit.
   */
  refusals: RefusalSender;
  logger: Pick<Logger, "warn">;
  /** Each user (or chat writing as itself) is audited, and refused in each chat, at most once per this many ms. */
  everyMs?: number;
  /** At most this many refusals per chat per `everyMs`, however many strangers write. */
  perChatLimit?: number;
  now?: () => number;
}

/** Senders remembered for the once-per-window rule before old entries are dropped. */
const MAX_TRACKED = 10_000;

/**
 * Lets through operators in the ops chat or in their private chat with the bot; nothing else runs.
 * Strangers (and anyone writing as a chat: an anonymous admin, a linked channel) get a short
 * refusal where the bot is meant to talk (ops chat, private chat) and silence in foreign groups;
 * each is audited at most once per `everyMs` and refused at most once per chat in that time, and
 * a chat gets at most `perChatLimit` refusals in that time, so a flood neither drowns the chat nor
 * uses up the rate limit that the operators' replies need. Commands for other bots and group
 * chatter are not attempts: ignored.
 */
export function createAuthorization({
  operatorIds,
  opsChatId,
  audit,
  refusals,
  logger,
  everyMs = 60_000,
  perChatLimit = 3,
  now = Date.now,
}: AuthorizeDeps): MiddlewareFn<Context> {
  const operators = new Set(operatorIds);
  const lastRefused = new Map<string, number>();
  const refusedInChat = new Map<number, number[]>();

  /** True once per `everyMs` for `key`. */
  const firstInWindow = (key: string, stamp: number): boolean => {
    if (stamp - (lastRefused.get(key) ?? -Infinity) < everyMs) return false;
    if (lastRefused.size >= MAX_TRACKED)
      for (const [k, at] of lastRefused) if (stamp - at >= everyMs) lastRefused.delete(k);
    lastRefused.set(key, stamp);
    return true;
  };
  /** True while the chat has refusals left in this window; counts this one. */
  const chatHasBudget = (chatId: number, stamp: number): boolean => {
    const recent = (refusedInChat.get(chatId) ?? []).filter((at) => stamp - at < everyMs);
    if (recent.length >= perChatLimit) return false;
    refusedInChat.set(chatId, [...recent, stamp]);
    return true;
  };

  return async (ctx, next) => {
    const chat: ChatRef | undefined = ctx.chat ? chatRef(ctx.chat) : undefined;
    if (ctx.myChatMember) {
      if (chat)
        audit.record({
          type: "membership",
          actor: userActor(ctx.myChatMember.from),
          chat,
          status: ctx.myChatMember.new_chat_member.status,
        });
      return;
    }
    if (isForAnotherBot(ctx)) return;

    // `ctx.message`, not `ctx.msg`: for a button press `msg` is the bot's own message.
    const senderChat = ctx.message?.sender_chat;
    const user = ctx.from;
    if (!senderChat && (!user || user.is_bot)) return;
    const inOpsChat = ctx.chat?.id === opsChatId;
    const inOwnPrivateChat = !senderChat && ctx.chat?.type === "private" && ctx.chat.id === user?.id;
    if (!senderChat && operators.has(user!.id) && (inOpsChat || inOwnPrivateChat)) return next();
    if (!isAddressedToMe(ctx)) return;

    const stamp = now();
    const who = senderChat ? `chat:${senderChat.id}` : `user:${user!.id}`;
    if (firstInWindow(`audit ${who}`, stamp)) {
      const actor = senderChat ? chatActor(senderChat, ctx.chat?.id) : userActor(user!);
      audit.record({ type: "unauthorized", actor, chat, action: describeAction(ctx) });
    }
    // A press beyond the refusals a flood may have is still answered, without a word: answering
    // costs the chat nothing, and otherwise the presser's spinner runs until Telegram gives up.
    const silently = async () => {
      if (ctx.callbackQuery)
        await refusals
          .answer(ctx.callbackQuery.id)
          .catch((error: unknown) => logger.warn({ err: error }, "could not answer a refused press; dropped"));
    };
    if (!(inOpsChat || inOwnPrivateChat) || !ctx.chat) return silently();
    if (!firstInWindow(`reply ${who} in ${ctx.chat.id}`, stamp) || !chatHasBudget(ctx.chat.id, stamp))
      return silently();
    const refusal = senderChat
      ? `⛔ rotabot cannot tell who wrote this: it was sent as “${clip(senderChat.title ?? "a chat")}”${senderChat.id === ctx.chat.id ? " (an anonymous admin)" : ""}. Only rotabot operators can use this bot: turn off “Remain anonymous” in your admin rights and write as yourself.`
      : `⛔ Only rotabot operators can use this bot. Your Telegram user id is ${user!.id}: ask an operator to add it to OPERATOR_IDS.`;
    const sent = ctx.callbackQuery
      ? refusals.answer(ctx.callbackQuery.id, refusal)
      : refusals.send(ctx.chat.id, refusal);
    await sent.catch((error: unknown) =>
      logger.warn({ err: error, chatId: ctx.chat?.id }, "could not send a refusal; dropped"),
    );
  };
}

function chatRef(chat: Chat): ChatRef {
  return { id: chat.id, type: chat.type, ...("title" in chat && chat.title ? { title: chat.title } : {}) };
}

function userActor(user: NonNullable<Context["from"]>): Actor {
  return {
    id: `tg:${user.id}`,
    name: clip([user.first_name, user.last_name].filter(Boolean).join(" ")),
    ...(user.username ? { username: user.username } : {}),
  };
}

/** Someone writing as a chat: the group itself (an anonymous admin) or a channel. */
function chatActor(sender: Chat, chatId: number | undefined): Actor {
  const title = clip("title" in sender && sender.title ? sender.title : String(sender.id));
  return {
    id: `tg:${sender.id}`,
    name: sender.id === chatId ? `an anonymous admin of “${title}”` : `${sender.type} “${title}” (writing as the chat)`,
    ...("username" in sender && sender.username ? { username: sender.username } : {}),
  };
}

/** What was tried, without repeating free text they typed (it could be anything). */
function describeAction(ctx: Context): string {
  if (ctx.callbackQuery) return "a button press";
  const command = ctx.message?.text?.match(/^\/[A-Za-z0-9_]+(@\w+)?/)?.[0];
  if (command) return clip(command);
  if (ctx.message) return "a message";
  return Object.keys(ctx.update).find((k) => k !== "update_id") ?? "an update";
}
