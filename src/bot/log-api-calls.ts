import { GrammyError, type Transformer } from "grammy";
import type { Logger } from "../logging/create-logger.js";

/** What a debug log shows of a call: where it went and the start of its text, never files or the token. */
function summarize(payload: unknown): Record<string, unknown> {
  if (typeof payload !== "object" || payload === null) return {};
  const p = payload as Record<string, unknown>;
  const text = typeof p.text === "string" ? p.text : typeof p.caption === "string" ? p.caption : undefined;
  return {
    ...(p.chat_id !== undefined ? { chatId: p.chat_id } : {}),
    ...(p.message_id !== undefined ? { messageId: p.message_id } : {}),
    ...(text !== undefined ? { text: text.length > 200 ? `${text.slice(0, 200)}…` : text } : {}),
  };
}

/**
 * An API transformer that logs each Bot API call's method, outcome and duration; at debug also
 * its chat and the start of its text. The logger's redactor masks any known secret value.
 */
export function logApiCalls(logger: Logger): Transformer {
  return async (prev, method, payload, signal) => {
    const started = Date.now();
    try {
      const result = await prev(method, payload, signal);
      if (!result.ok) {
        logger.warn(
          { method, errorCode: result.error_code, description: result.description, ms: Date.now() - started },
          "Bot API call failed",
        );
      } else {
        logger.debug({ method, ...summarize(payload), ms: Date.now() - started }, "Bot API call");
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
