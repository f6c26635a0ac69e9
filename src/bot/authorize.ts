import type { Context, MiddlewareFn } from "grammy";
import type { Audit, ChatRef } from "../audit/create-audit.js";
import type { Actor } from "../rotation/model.js";

export interface AuthorizeDeps {
  operatorIds: readonly number[];
  opsChatId: number;
  audit: Audit;
  /** An unauthorized user is audited at most once per this many ms, so a flood cannot drown the channel. */
  auditEveryMs?: number;
  now?: () => number;
}

/**
 * Lets through operators in the ops chat or in their private chat with the bot; nothing else runs.
 * Strangers get a short refusal where the bot is meant to talk (ops chat, private chat) and silence
 * in foreign groups; every refusal is audited.
 */
export function createAuthorization({
  operatorIds,
  opsChatId,
  audit,
  auditEveryMs = 60_000,
  now = Date.now,
}: AuthorizeDeps): MiddlewareFn<Context> {
  const operators = new Set(operatorIds);
  const lastAudited = new Map<number, number>();

  return async (ctx, next) => {
    const user = ctx.from;
    if (!user || user.is_bot) return;
    const actor: Actor = {
      id: `tg:${user.id}`,
      name: [user.first_name, user.last_name].filter(Boolean).join(" "),
      ...(user.username ? { username: user.username } : {}),
    };
    const chat: ChatRef | undefined = ctx.chat
      ? {
          id: ctx.chat.id,
          type: ctx.chat.type,
          ...("title" in ctx.chat && ctx.chat.title ? { title: ctx.chat.title } : {}),
        }
      : undefined;

    if (ctx.myChatMember) {
      if (chat) audit.record({ type: "membership", actor, chat, status: ctx.myChatMember.new_chat_member.status });
      return;
    }

    const inOwnPrivateChat = ctx.chat?.type === "private" && ctx.chat.id === user.id;
    const inOpsChat = ctx.chat?.id === opsChatId;
    if (operators.has(user.id) && (inOpsChat || inOwnPrivateChat)) return next();

    const stamp = now();
    if (stamp - (lastAudited.get(user.id) ?? -Infinity) >= auditEveryMs) {
      lastAudited.set(user.id, stamp);
      audit.record({ type: "unauthorized", actor, chat, action: describeAction(ctx) });
    }
    if (!(inOpsChat || inOwnPrivateChat)) return;
    const refusal = operators.has(user.id)
      ? "rotabot only works in the ops chat and in your private chat with it."
      : `⛔ Only rotabot operators can use this bot. Your Telegram user id is ${user.id}: ask an operator to add it to OPERATOR_IDS.`;
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: refusal, show_alert: true });
    else await ctx.reply(refusal);
  };
}

/** What the user tried, without repeating free text they typed (it could be anything). */
function describeAction(ctx: Context): string {
  const command = ctx.msg?.text?.match(/^\/[A-Za-z0-9_]+(@\w+)?/)?.[0];
  if (command) return command;
  if (ctx.callbackQuery) return "a button press";
  if (ctx.msg) return "a message";
  return Object.keys(ctx.update).find((k) => k !== "update_id") ?? "an update";
}
