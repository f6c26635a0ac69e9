import { Composer, type Context } from "grammy";
import { escapeHtml } from "../../telegram/html.js";
import { COMMAND_MENU } from "../protocol/command-menu.js";

/** /start and /help: what rotabot does and the commands it takes. */
export function createHelpFeature(): Composer<Context> {
  const composer = new Composer<Context>();
  const text = [
    "<b>rotabot</b> walks operators through the Akira vault secret rotations and tells the team what happened.",
    "",
    ...COMMAND_MENU.map(({ command, description }) => `/${command} – ${escapeHtml(description)}`),
    "",
    "On the ops host the same report is <code>rotabot age</code> (add <code>--json</code> for cron).",
  ].join("\n");
  composer.command(["start", "help"], (ctx) => ctx.reply(text, { parse_mode: "HTML" }));
  return composer;
}
