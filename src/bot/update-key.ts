import type { Context } from "grammy";

/**
 * The key that orders updates and will key conversation storage: the user, never the chat, so
 * one operator's walkthrough cannot swallow the group's updates. Always a string.
 */
export function updateKey(ctx: Context): string {
  if (ctx.from) return `user:${ctx.from.id}`;
  if (ctx.chat) return `chat:${ctx.chat.id}`;
  return `update:${ctx.update.update_id}`;
}
