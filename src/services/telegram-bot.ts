import { callBotApi } from "../telegram/call-bot-api.js";

type Outcome = { ok: true; note: string } | { ok: false; message: string };

/** A bot token is `<bot id>:<secret>`; the bot id is public (it is the bot's user id). */
function botIdOf(token: string): string | undefined {
  return /^(\d+):\S+$/.exec(token)?.[1];
}
/** Bot API calls made with a token other than rotabot's own (the one being rotated). */
/**
 * `alertChatId` is where a test alert goes when the runbook's step names no chat: the ops chat,
 * where the team reads alerts (the audit channel is rotabot's own record, not an alert path).
 */
export function createTelegramChecks({ apiRoot, alertChatId }: { apiRoot: string; alertChatId: number | undefined }) {
  const call = (token: string, method: string, body?: object) => callBotApi(apiRoot, token, method, body);
  const safely = async (what: string, run: () => Promise<Outcome>): Promise<Outcome> => {
    try {
      return await run();
    } catch (error) {
      return {
        ok: false,
        message: `${what}: the Bot API did not answer (${error instanceof Error ? error.name : "error"}); check TELEGRAM_API_ROOT and the network, then Retry`,
      };
    }
  };
  return {
    /**
     * The new token is the same bot's: its prefix (the bot id, before ':') equals the old token's,
     * and getMe with the new token answers that id. The old token is not called: Telegram revoked
     * it when BotFather issued the new one.
     */
    sameBot: (oldToken: string, newToken: string) =>
      safely("getMe", async () => {
        const [was, now] = [botIdOf(oldToken), botIdOf(newToken)];
        if (now === undefined)
          return {
            ok: false,
            message: "the new token does not start with a bot id (<digits>:...); copy it again from @BotFather",
          };
        if (was === undefined)
          return {
            ok: false,
            message: `the current vault value does not start with a bot id, so the bots cannot be compared; check the value in the vault`,
          };
        if (was !== now)
          return {
            ok: false,
            message: `the new token is for bot ${now}, the current one for bot ${was}; ask @BotFather for a new token of bot ${was} and paste that`,
          };
        const me = await call(newToken, "getMe");
        if (!me.ok)
          return {
            ok: false,
            message: `the new token is refused by Telegram (${me.error_code ?? "?"} ${me.description ?? ""}); if you asked @BotFather again since, the newest token replaced it: paste that one`,
          };
        if (String(me.result?.id) !== now)
          return {
            ok: false,
            message: `getMe with the new token answers bot ${me.result?.id ?? "?"}, not ${now}; copy the token again from @BotFather`,
          };
        return { ok: true, note: `the new token belongs to the same bot @${me.result?.username ?? "?"} (id ${now})` };
      }),
    testAlert: (newToken: string, text: string, chatId: number | string | undefined) =>
      safely("sendMessage", async () => {
        const chat = chatId ?? alertChatId;
        if (chat === undefined)
          return {
            ok: false,
            message:
              "no chat for the test alert: set chat_id in the runbook's telegram_test_alert check (where the team's alerts go), or OPS_CHAT_ID",
          };
        const sent = await call(newToken, "sendMessage", { chat_id: chat, text });
        const where = chatId === undefined ? `the ops chat (${chat})` : `chat ${chat}`;
        return sent.ok
          ? { ok: true, note: `test alert sent with the new token to ${where}` }
          : {
              ok: false,
              message: `the test alert to ${where} was refused (${sent.error_code ?? "?"} ${sent.description ?? ""}); add the notification bot to that chat (or fix chat_id in the runbook), then Retry`,
            };
      }),
    oldTokenRevoked: (oldToken: string) =>
      safely("getMe", async () => {
        const reply = await call(oldToken, "getMe");
        return reply.error_code === 401
          ? { ok: true, note: "the old token answers 401" }
          : {
              ok: false,
              message:
                "the old token still works, yet Telegram revokes it when @BotFather issues a new one: check that the pasted token came from @BotFather for this bot after the old one, then Retry",
            };
      }),
  };
}
export type TelegramChecks = ReturnType<typeof createTelegramChecks>;
