import { GrammyError, type Bot } from "grammy";
import type { Logger } from "../logging/create-logger.js";
import { sleep } from "../time/sleep.js";

/** How long one getMe may take before it counts as unanswered. */
const ATTEMPT_MS = 15_000;
/** Waits between attempts: 2 s, doubling up to a minute. */
const FIRST_WAIT_MS = 2_000;
const LONGEST_WAIT_MS = 60_000;

/**
 * getMe until the Bot API answers, then the bot knows itself (as `bot.init()` would; grammY's
 * init retries a network error forever, unsaid): each attempt bounded, a failed one said as an
 * error that names TELEGRAM_API_ROOT and its URL and when it tries again (backing off from 2 s to a
 * minute); `stop` (SIGTERM) ends the wait at once. Telegram's own refusals (401: the token; 409:
 * another instance polls) are not waited out: they are returned for the caller to explain.
 */
export async function waitForBotApi(
  bot: Pick<Bot, "api" | "botInfo">,
  { apiRoot, logger, stop }: { apiRoot: string; logger: Pick<Logger, "error" | "info">; stop: Promise<unknown> },
): Promise<{ ready: true } | { ready: false; stopped: true } | { ready: false; stopped: false; error: GrammyError }> {
  const stopping = new AbortController();
  void stop.then(() => stopping.abort());
  for (let attempt = 0; ; attempt++) {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(ATTEMPT_MS)]);
    try {
      bot.botInfo = await bot.api.getMe(signal as Parameters<Bot["api"]["getMe"]>[0]);
      if (attempt > 0) logger.info({ apiRoot, attempts: attempt + 1 }, "the Telegram Bot API answers");
      return { ready: true };
    } catch (error) {
      if (stopping.signal.aborted) {
        logger.info({ apiRoot }, `stopped before the Telegram Bot API at TELEGRAM_API_ROOT=${apiRoot} answered`);
        return { ready: false, stopped: true };
      }
      if (error instanceof GrammyError && error.error_code < 500 && error.error_code !== 429)
        return { ready: false, stopped: false, error };
      const waitMs = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** attempt);
      const why = error instanceof GrammyError ? `it answers ${error.error_code}` : describeNetworkError(error, signal);
      logger.error(
        { apiRoot, attempt: attempt + 1 },
        `cannot reach the Telegram Bot API at TELEGRAM_API_ROOT=${apiRoot} (${why}); trying again in ${waitMs / 1000} s, and SIGTERM stops rotabot at once. Check the network, a proxy, or TELEGRAM_API_ROOT`,
      );
      if (await sleep(waitMs, stopping.signal)) {
        logger.info({ apiRoot }, `stopped before the Telegram Bot API at TELEGRAM_API_ROOT=${apiRoot} answered`);
        return { ready: false, stopped: true };
      }
    }
  }
}

function describeNetworkError(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return `no answer within ${ATTEMPT_MS / 1000} s`;
  // grammY's HttpError wraps the fetch error: node-fetch puts the system's code on it (ECONNREFUSED, ENOTFOUND).
  const cause = (error as { error?: { code?: string; cause?: { code?: string }; message?: string } }).error;
  return (
    cause?.code ?? cause?.cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
  );
}
