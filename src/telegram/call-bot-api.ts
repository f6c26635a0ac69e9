/** The fields rotabot reads from raw Bot API replies. */
export interface BotApiReply {
  ok: boolean;
  result?: {
    id?: number;
    username?: string;
    status?: string;
    type?: string;
    /** getChatMember of an administrator. */
    can_delete_messages?: boolean;
    /** getMe: privacy mode is off. */
    can_read_all_group_messages?: boolean;
  };
  error_code?: number;
  description?: string;
  parameters?: { migrate_to_chat_id?: number; retry_after?: number };
}

/**
 * One Bot API call with a token other than the running bot's (the token being rotated, or the
 * one `doctor` checks). The token travels only in the URL path, as the Bot API requires; never
 * log the URL. Throws when the API does not answer.
 */
export async function callBotApi(
  apiRoot: string,
  token: string,
  method: string,
  body: object = {},
  timeoutMs = 15_000,
): Promise<BotApiReply> {
  const response = await fetch(`${apiRoot}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return (await response.json()) as BotApiReply;
}
