import { Composer, type Context } from "grammy";

/** Last in line: an unknown command or stray text gets pointed at /help; buttons nobody owns are answered. */
export function createUnhandledFeature(): Composer<Context> {
  const composer = new Composer<Context>();
  composer.on("callback_query:data", (ctx) =>
    ctx.answerCallbackQuery({ text: "This button is no longer active. Send /help to start again.", show_alert: true }),
  );
  composer.on("message:text", async (ctx) => {
    const command = /^\/([A-Za-z0-9_]+)/.exec(ctx.msg.text)?.[1];
    if (command) await ctx.reply(`I don't know /${command}. Send /help for the commands I take.`);
    else if (ctx.chat.type === "private") await ctx.reply("I act on commands. Send /help for the list.");
  });
  return composer;
}
