import { GrammyError, type Transformer } from "grammy";
import type { Logger } from "../logging/create-logger.js";

/** An API transformer that logs each Bot API call's method, outcome and duration, never its payload. */
export function logApiCalls(logger: Logger): Transformer {
  return async (prev, method, payload, signal) => {
    const started = Date.now();
    try {
      const result = await prev(method, payload, signal);
      if (!result.ok) {
        logger.warn({ method, errorCode: result.error_code, description: result.description, ms: Date.now() - started }, "Bot API call failed");
      } else {
        logger.debug({ method, ms: Date.now() - started }, "Bot API call");
      }
      return result;
    } catch (error) {
      if (!(error instanceof GrammyError) && !signal?.aborted) {
        logger.warn({ method, err: error, ms: Date.now() - started }, "Bot API call did not complete");
      }
      throw error;
    }
  };
}
