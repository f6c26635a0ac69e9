import type { Context, MiddlewareFn, Transformer } from "grammy";
import type { Audit } from "../audit/create-audit.js";
import type { Logger } from "../logging/create-logger.js";
import {
  classifyChatTrouble,
  describeChatTrouble,
  type ChatTrouble,
  type WatchedChat,
} from "../telegram/chat-trouble.js";

export interface ChatAccessDeps {
  logger: Pick<Logger, "error">;
  audit: Pick<Audit, "record">;
  opsChatId: number;
  auditChatId: number;
  /** The same trouble of one chat is said again at most this often (default ten minutes). */
  repeatMs?: number;
  now?: () => number;
}

/**
 * Says once, as an error with its fix and as an audit line (which reaches the audit chat when that
 * chat still takes it), when the ops or audit chat stops taking rotabot's messages: upgraded to a
 * supergroup, the bot removed or kept from writing. The same trouble is said again only after
 * `repeatMs`, however many sends fail meanwhile: no loop, no silence. The transformer reads the
 * replies of every Bot API call; the middleware reads the service messages and membership changes
 * Telegram sends about those chats, so the trouble is said before the next send fails.
 */
export function watchChatAccess({
  logger,
  audit,
  opsChatId,
  auditChatId,
  repeatMs = 10 * 60_000,
  now = Date.now,
}: ChatAccessDeps): { transformer: Transformer; middleware: MiddlewareFn<Context> } {
  const watched = (chatId: number): WatchedChat | undefined => {
    if (chatId === opsChatId)
      return {
        id: chatId,
        name: "ops chat",
        setting: auditChatId === opsChatId ? "OPS_CHAT_ID (and AUDIT_CHAT_ID)" : "OPS_CHAT_ID",
      };
    if (chatId === auditChatId) return { id: chatId, name: "audit chat", setting: "AUDIT_CHAT_ID" };
    return undefined;
  };
  const said = new Map<string, number>();

  function report(chatId: number, trouble: ChatTrouble): void {
    const chat = watched(chatId);
    if (!chat) return;
    const key = `${chatId} ${trouble.kind}`;
    const last = said.get(key);
    if (last !== undefined && now() - last < repeatMs) return;
    said.set(key, now());
    const { problem, fix } = describeChatTrouble(chat, trouble);
    logger.error({ chatId, setting: chat.setting, trouble: trouble.kind }, `${problem}. Fix: ${fix}.`);
    audit.record({ type: "chat_unreachable", chat: chat.name, chatId, problem, fix });
  }

  const transformer: Transformer = async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    const chatId = Number((payload as { chat_id?: number | string } | undefined)?.chat_id);
    if (!result.ok && Number.isSafeInteger(chatId)) {
      const trouble = classifyChatTrouble(result);
      if (trouble) report(chatId, trouble);
    }
    return result;
  };

  const middleware: MiddlewareFn<Context> = (ctx, next) => {
    const migratedTo = ctx.message?.migrate_to_chat_id;
    if (ctx.chat && migratedTo !== undefined) report(ctx.chat.id, { kind: "migrated", newId: migratedTo });
    const migratedFrom = ctx.message?.migrate_from_chat_id;
    if (ctx.chat && migratedFrom !== undefined) report(migratedFrom, { kind: "migrated", newId: ctx.chat.id });
    const member = ctx.myChatMember?.new_chat_member;
    if (ctx.chat && (member?.status === "kicked" || member?.status === "left"))
      report(ctx.chat.id, { kind: "removed", telegramSays: `the bot's status is now “${member.status}”` });
    if (ctx.chat && member?.status === "restricted" && !member.can_send_messages)
      report(ctx.chat.id, { kind: "no_rights", telegramSays: "the bot is restricted and cannot send messages" });
    return next();
  };
  return { transformer, middleware };
}
