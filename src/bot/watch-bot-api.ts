import type { Transformer } from "grammy";
import type { Logger } from "../logging/create-logger.js";

/**
 * Says within seconds, as an error, when the Bot API cannot be reached (getUpdates fails with a
 * network error or a 5xx), repeats it every minute while it lasts, and says when it answers again.
 * The runner retries every few seconds meanwhile.
 */
export function watchBotApi({
  logger,
  apiRoot,
  now = Date.now,
}: {
  logger: Logger;
  apiRoot: string;
  now?: () => number;
}): Transformer {
  let downSince: number | undefined;
  let lastSaid = 0;
  return async (prev, method, payload, signal) => {
    if (method !== "getUpdates") return prev(method, payload, signal);
    try {
      const result = await prev(method, payload, signal);
      if (result.ok || (result.error_code ?? 0) < 500) {
        if (downSince !== undefined) {
          logger.info({ seconds: Math.round((now() - downSince) / 1000) }, "the Telegram Bot API answers again");
          downSince = undefined;
        }
      } else report(`it answers ${result.error_code} ${result.description}`);
      return result;
    } catch (error) {
      if (!signal?.aborted) report(error instanceof Error ? error.message : String(error));
      throw error;
    }
  };

  function report(why: string): void {
    const at = now();
    downSince ??= at;
    if (at - lastSaid < 60_000 && lastSaid >= downSince) return;
    lastSaid = at;
    logger.error(
      { apiRoot, since: new Date(downSince).toISOString() },
      `cannot reach the Telegram Bot API at TELEGRAM_API_ROOT (${why}); retrying every ${RETRY_SECONDS} s. Check the network, a proxy, or TELEGRAM_API_ROOT`,
    );
  }
}

/** How often the runner asks again while the Bot API cannot be reached. */
export const RETRY_SECONDS = 5;
