import type { Context, MiddlewareFn, Transformer } from "grammy";

/**
 * The newest message rotabot knows of in one chat: those it sent there through `bot.api` and those
 * it received from there (with privacy mode, commands and replies to it). The presenter asks it
 * whether the live progress message still stands last, so that it moves it down only when
 * something was posted below it (a send costs the chat a second of its budget).
 */
export function trackLatestMessage(chatId: number) {
  let latest = 0;
  const note = (id: unknown) => {
    if (typeof id === "number" && id > latest) latest = id;
  };
  const transformer: Transformer = async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    const target = (payload as { chat_id?: number | string } | undefined)?.chat_id;
    if (result.ok && method.startsWith("send") && Number(target) === chatId) {
      const sent = result.result as { message_id?: unknown } | { message_id?: unknown }[];
      for (const message of Array.isArray(sent) ? sent : [sent]) note(message.message_id);
    }
    return result;
  };
  const middleware: MiddlewareFn<Context> = (ctx, next) => {
    if (ctx.chat?.id === chatId && ctx.message) note(ctx.message.message_id);
    return next();
  };
  return { latest: () => latest, transformer, middleware };
}
