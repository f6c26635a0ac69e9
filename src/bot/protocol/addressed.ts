import type { Context } from "grammy";

const LEADING_COMMAND = /^\/[A-Za-z0-9_]+(?:@([A-Za-z0-9_]+))?/;

/**
 * True for `/command@other_bot`: a command that names another bot is not for rotabot, in any
 * chat (grammY's `command()` already skips it; nothing else may answer it either).
 */
export function isForAnotherBot(ctx: Context): boolean {
  const mention = LEADING_COMMAND.exec(ctx.message?.text ?? "")?.[1];
  return mention !== undefined && mention.toLowerCase() !== ctx.me.username.toLowerCase();
}

/**
 * Whether an update asks something of rotabot: a button press, anything in a private chat, a
 * command (bare or `@rotabot`), or a reply to one of its messages. Group chatter it happens to
 * see (as an admin, or through a client that forwards everything) is not.
 */
export function isAddressedToMe(ctx: Context): boolean {
  if (ctx.callbackQuery) return true;
  // `ctx.message`, not `ctx.msg`: for a button press `msg` is the bot's own message.
  if (!ctx.message || isForAnotherBot(ctx)) return false;
  if (ctx.chat?.type === "private") return true;
  if (LEADING_COMMAND.test(ctx.message.text ?? "")) return true;
  return ctx.message.reply_to_message?.from?.id === ctx.me.id;
}
