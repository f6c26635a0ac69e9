import { Composer, type Context } from "grammy";
import { clip } from "../../telegram/user-text.js";
import { isForAnotherBot } from "../protocol/addressed.js";

/**
 * Last in line: an unknown command or stray private text gets pointed at /help; a button nobody
 * owns (stale, forged, or with a field out of range) is answered. A command for another bot
 * (`/rotate@other_bot`) is left alone.
 */
export function createUnhandledFeature(): Composer<Context> {
  const composer = new Composer<Context>();
  composer.on("callback_query", (ctx) =>
    ctx.answerCallbackQuery({ text: "This button is no longer active. Send /help to start again.", show_alert: true }),
  );
  composer.on("message:text", async (ctx) => {
    if (isForAnotherBot(ctx)) return;
    const command = /^\/([A-Za-z0-9_]+)/.exec(ctx.msg.text)?.[1];
    if (command) await ctx.reply(`I don't know /${clip(command, 40)}. Send /help for the commands I take.`);
    else if (ctx.chat.type === "private") await ctx.reply("I act on commands. Send /help for the list.");
  });
  return composer;
}
