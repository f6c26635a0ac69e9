import type { Context, MiddlewareFn, Transformer } from "grammy";
import type { Audit } from "../audit/create-audit.js";
import type { Logger } from "../logging/create-logger.js";

/** Why rotabot cannot write in one of its chats. */
export type ChatTrouble =
  | { kind: "migrated"; newId: number }
  | { kind: "removed"; telegramSays: string }
  | { kind: "no_rights"; telegramSays: string };

/** A chat rotabot is configured to write in, and the setting that names it. */
interface WatchedChat {
  id: number;
  name: string;
  setting: string;
}

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
 * Reads a failed Bot API reply (or a service message) as trouble with a chat, when it is one:
 * a group upgraded to a supergroup (400 with `parameters.migrate_to_chat_id`), a bot removed
 * from the chat (403 "bot was kicked", "bot is not a member", "the group chat was deleted") or
 * kept from writing (400 "not enough rights", "need administrator rights", "have no rights").
 */
export function classifyChatTrouble(reply: {
  error_code?: number;
  description?: string;
  parameters?: { migrate_to_chat_id?: number };
}): ChatTrouble | undefined {
  const newId = reply.parameters?.migrate_to_chat_id;
  if (newId !== undefined) return { kind: "migrated", newId };
  const says = reply.description ?? `error ${reply.error_code ?? "?"}`;
  if (reply.error_code === 403 && /kicked|not a member|chat was deleted/i.test(says))
    return { kind: "removed", telegramSays: says };
  if (reply.error_code === 400 && /not enough rights|need administrator rights|have no rights/i.test(says))
    return { kind: "no_rights", telegramSays: says };
  return undefined;
}

/** The error that names what is wrong with the chat and the setting or right that fixes it. */
export function describeChatTrouble(chat: WatchedChat, trouble: ChatTrouble): { problem: string; fix: string } {
  const where = `the ${chat.name} (${chat.setting}=${chat.id})`;
  switch (trouble.kind) {
    case "migrated":
      return {
        problem: `Telegram upgraded ${where} to a supergroup with the new id ${trouble.newId}, so rotabot can no longer write to the old id`,
        fix: `set ${chat.setting}=${trouble.newId} in rotabot's settings (.env or the unit's EnvironmentFile) and restart rotabot (systemctl restart rotabot)`,
      };
    case "removed":
      return {
        problem: `rotabot is not in ${where} any more: Telegram answers “${trouble.telegramSays}”`,
        fix: `add the bot to that chat again and make it an administrator with “Delete messages” (docs/deploy.md, step 3); it works again without a restart`,
      };
    case "no_rights":
      return {
        problem: `rotabot may not write in ${where}: Telegram answers “${trouble.telegramSays}”`,
        fix: `make the bot an administrator there with the right to post and “Delete messages” (docs/deploy.md, step 3), or let members send messages`,
      };
  }
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
