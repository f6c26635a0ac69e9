import type { Transformer } from "grammy";
import type { Logger } from "../logging/create-logger.js";

/**
 * An answer to a button press that Telegram refuses as too late ("query is too old and response
 * timeout expired or query ID is invalid": about ten seconds after the press) is logged and taken
 * as done: the press itself was handled, and what it did shows in the chat. Without this, the late
 * answer's error would reach the error boundary and tell the chat "Something went wrong".
 */
export function forgiveLateAnswers(logger: Pick<Logger, "warn">): Transformer {
  return async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (
      method === "answerCallbackQuery" &&
      !result.ok &&
      result.error_code === 400 &&
      /query is too old/.test(result.description ?? "")
    ) {
      logger.warn(
        { method },
        "a button press was answered after Telegram's window (about 10 s): the spinner ran until Telegram gave up, though the press was handled",
      );
      return { ok: true, result: true } as unknown as typeof result;
    }
    return result;
  };
}
