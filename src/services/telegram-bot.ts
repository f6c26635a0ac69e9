import { callBotApi } from "../telegram/call-bot-api.js";

type Outcome = { ok: true; note: string } | { ok: false; message: string };
/** Bot API calls made with a token other than rotabot's own (the one being rotated). */
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
    sameBot: (oldToken: string, newToken: string) =>
      safely("getMe", async () => {
        const [before, after] = [await call(oldToken, "getMe"), await call(newToken, "getMe")];
        if (!after.ok)
          return {
            ok: false,
            message: `the new token is refused by Telegram (${after.error_code ?? "?"} ${after.description ?? ""}); create it again in @BotFather`,
          };
        if (!before.ok)
          return {
            ok: false,
            message: `the current token is refused by Telegram (${before.error_code ?? "?"}), so the bots cannot be compared; check the vault value`,
          };
        if (before.result?.id !== after.result?.id) {
          return {
            ok: false,
            message: `the new token belongs to @${after.result?.username ?? "?"}, not to @${before.result?.username ?? "?"}; paste the token of the same bot`,
          };
        }
        return { ok: true, note: `the new token belongs to the same bot @${after.result?.username ?? "?"}` };
      }),
    testAlert: (newToken: string, text: string) =>
      safely("sendMessage", async () => {
        if (alertChatId === undefined)
          return { ok: false, message: "no chat for the test alert: set AUDIT_CHAT_ID (or OPS_CHAT_ID)" };
        const sent = await call(newToken, "sendMessage", { chat_id: alertChatId, text });
        return sent.ok
          ? { ok: true, note: "test alert sent with the new token" }
          : {
              ok: false,
              message: `the test alert was refused (${sent.error_code ?? "?"} ${sent.description ?? ""}); add the bot to the ops channel, then Retry`,
            };
      }),
    oldTokenRevoked: (oldToken: string) =>
      safely("getMe", async () => {
        const reply = await call(oldToken, "getMe");
        return reply.error_code === 401
          ? { ok: true, note: "the old token answers 401" }
          : { ok: false, message: "the old token still works: revoke it in @BotFather, then press Done again" };
      }),
  };
}
export type TelegramChecks = ReturnType<typeof createTelegramChecks>;
