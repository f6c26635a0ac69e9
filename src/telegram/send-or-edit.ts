import { GrammyError } from "grammy";

/**
 * What Telegram said about a failed call, in one line: its code and description. A reply may come
 * without a description (the Bot API docs: it "may" be there; a proxy may leave it out), and
 * that must read as plainly as any other.
 */
export function describeTelegramError(error: unknown): string {
  if (error instanceof GrammyError)
    return `${error.error_code} ${(error.description as string | undefined) ?? "(Telegram gave no description)"}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The message to edit is no longer there (an admin deleted it) or can no longer be edited (too
 * old): the edit is moot, not a failure of what it reported.
 */
export function isMessageGone(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/.test(error.description ?? "")
  );
}

/**
 * Edits message `id` when there is one, else sends; when the edit finds the message gone, sends
 * it anew instead of failing: the chat still learns what happened. Returns the id shown now.
 */
export async function sendOrEdit(
  how: { edit: (id: number) => Promise<unknown>; send: () => Promise<{ message_id: number }> },
  id: number | undefined,
): Promise<number> {
  if (id !== undefined) {
    try {
      await how.edit(id);
      return id;
    } catch (error) {
      if (!isMessageGone(error)) throw error;
    }
  }
  return (await how.send()).message_id;
}
