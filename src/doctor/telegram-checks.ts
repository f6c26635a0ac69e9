import { callBotApi, type BotApiReply } from "../telegram/call-bot-api.js";
import { assessOpsChatRights, classifyChatTrouble, describeChatTrouble } from "../telegram/chat-trouble.js";
import type { CheckResult } from "./doctor-checks.js";

/** With a token: the bot exists, and is in the ops and audit chats with what it needs there. */
export async function runTelegramChecks({
  apiRoot,
  token,
  opsChatId,
  auditChatId,
}: {
  apiRoot: string;
  token: string;
  opsChatId: number;
  auditChatId: number;
}): Promise<CheckResult[]> {
  const call = (method: string, body: object = {}): Promise<BotApiReply> =>
    callBotApi(apiRoot, token, method, body, 10_000).catch(() => ({
      ok: false,
      description: "the Bot API did not answer",
    }));
  const me = await call("getMe");
  if (!me.ok || me.result?.id === undefined) {
    return [
      {
        check: "telegram bot",
        status: "fail",
        detail: `getMe failed: ${me.error_code ?? ""} ${me.description ?? ""}`.trim(),
        fix:
          me.error_code === 401
            ? "BOT_TOKEN is wrong or revoked: copy the current one from @BotFather"
            : "check TELEGRAM_API_ROOT and the network",
      },
    ];
  }
  const results: CheckResult[] = [
    { check: "telegram bot", status: "ok", detail: `@${me.result.username ?? "?"} (id ${me.result.id})` },
  ];
  for (const [name, chatId] of [
    ["ops chat", opsChatId],
    ["audit chat", auditChatId],
  ] as const) {
    if (name === "audit chat" && chatId === opsChatId) continue;
    const chat = await call("getChat", { chat_id: chatId });
    const member = await call("getChatMember", { chat_id: chatId, user_id: me.result.id });
    const status = member.result?.status;
    const trouble = classifyChatTrouble(chat.ok ? member : chat);
    if (trouble?.kind === "migrated") {
      const setting = name === "ops chat" ? "OPS_CHAT_ID" : "AUDIT_CHAT_ID";
      const { problem, fix } = describeChatTrouble({ id: chatId, name, setting }, trouble);
      results.push({ check: name, status: "fail", detail: problem, fix });
    } else if (!chat.ok || !member.ok || status === "left" || status === "kicked") {
      results.push({
        check: name,
        status: "fail",
        detail: `the bot is not in chat ${chatId} (${chat.description ?? member.description ?? status ?? "unknown"})`,
        fix: `add @${me.result.username ?? "the bot"} to the chat, then run rotabot doctor again`,
      });
    } else if (chat.result?.type === "channel" && status !== "administrator") {
      results.push({
        check: name,
        status: "fail",
        detail: `the bot is in channel ${chatId} but not an administrator`,
        fix: "make the bot an administrator of the channel with the right to post messages",
      });
    } else {
      results.push({
        check: name,
        status: "ok",
        detail: `${chat.result?.type ?? "chat"} ${chatId}: ${status ?? "member"}`,
      });
      if (name === "ops chat") {
        const rights = assessOpsChatRights(
          {
            chatType: chat.result?.type,
            status,
            ...(member.result?.can_delete_messages !== undefined
              ? { can_delete_messages: member.result.can_delete_messages }
              : {}),
            canReadAllGroupMessages: me.result.can_read_all_group_messages === true,
          },
          `@${me.result.username ?? "the bot"}`,
        );
        results.push(
          rights.ok
            ? { check: "ops chat rights", status: "ok", detail: rights.detail }
            : { check: "ops chat rights", status: "warn", detail: rights.lost, fix: rights.fix },
        );
      }
    }
  }
  return results;
}
