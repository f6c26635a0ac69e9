// The idle-memory baseline: the smallest grammY bot that long-polls, nothing else loaded.
import { Bot } from "grammy";

const bot = new Bot(process.env.BOT_TOKEN, { client: { apiRoot: process.env.TELEGRAM_API_ROOT } });
bot.command("start", (ctx) => ctx.reply("hello"));
process.once("SIGTERM", () => void bot.stop());
await bot.start({ onStart: () => process.stdout.write("ready\n") });
