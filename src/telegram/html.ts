/** Escapes text for Telegram's HTML parse mode (only &, < and > are special). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A mention that notifies the person (HTML parse mode): `@username` where they have one (a
 * "mention" entity), else an inline link to `tg://user?id=<id>` (a "text_mention" entity), as
 * the Bot API's formatting options describe both.
 */
export function mentionHtml(actor: { id: string; name: string; username?: string | undefined }): string {
  if (actor.username) return `@${escapeHtml(actor.username)}`;
  const id = /^tg:(\d+)$/.exec(actor.id)?.[1];
  return id ? `<a href="tg://user?id=${id}">${escapeHtml(actor.name)}</a>` : escapeHtml(actor.name);
}

/** Telegram's limit for one message's text after entity parsing. */
export const MESSAGE_LIMIT = 4096;

/**
 * Packs blocks of HTML into as few messages as fit under the limit, never splitting a block.
 * `visibleLength` must return the length of a block as Telegram counts it (without tags).
 */
export function packMessages(header: string, blocks: readonly string[], limit = MESSAGE_LIMIT - 96): string[] {
  const messages: string[] = [];
  let current = header;
  for (const block of blocks) {
    const candidate = current === "" ? block : `${current}\n${block}`;
    if (visibleLength(candidate) > limit && current !== "") {
      messages.push(current);
      current = block;
    } else {
      current = candidate;
    }
  }
  if (current !== "") messages.push(current);
  return messages;
}

/** The length Telegram counts: tags removed, entities decoded, in UTF-16 code units. */
export function visibleLength(html: string): number {
  return html.replace(/<[^>]*>/g, "").replace(/&(amp|lt|gt|quot|#\d+);/g, "x").length;
}
