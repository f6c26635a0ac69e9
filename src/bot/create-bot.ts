import { autoRetry } from "@grammyjs/auto-retry";
import { sequentialize } from "@grammyjs/runner";
import { Bot, type Context } from "grammy";
import { todayUtc } from "../age/calendar-date.js";
import { createAudit } from "../audit/create-audit.js";
import type { BotConfig } from "../config/parse-config.js";
import type { Logger } from "../logging/create-logger.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { createAuthorization } from "./authorize.js";
import { createAgeFeature } from "./features/age.js";
import { createHelpFeature } from "./features/help.js";
import { createUnhandledFeature } from "./features/unhandled.js";
import { logApiCalls } from "./log-api-calls.js";
import { updateKey } from "./update-key.js";

export interface CreateBotDeps {
  config: BotConfig;
  logger: Logger;
  runbook: Runbook;
  manifestFile: string;
  now?: () => Date;
}

/**
 * Builds the bot with its middleware in the order it runs: ordering per user, error boundary,
 * authorization, features, and the catch-all last.
 */
export function createBot({ config, logger, runbook, manifestFile, now = () => new Date() }: CreateBotDeps) {
  const bot = new Bot<Context>(config.botToken, { client: { apiRoot: config.telegramApiRoot } });
  bot.api.config.use(logApiCalls(logger));
  bot.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 120 }));

  const audit = createAudit({
    post: (html) => bot.api.sendMessage(config.auditChatId, html, { parse_mode: "HTML", link_preview_options: { is_disabled: true } }),
    logger,
  });

  bot.use(sequentialize(updateKey));
  const guarded = bot.errorBoundary(async (error) => {
    const ref = Math.random().toString(36).slice(2, 8);
    logger.error({ err: error.error, ref, updateId: error.ctx.update.update_id }, "update handling failed");
    await error.ctx
      .reply(`Something went wrong while handling that (ref ${ref}). Nothing was changed; try again, and if it repeats, look for ref ${ref} in the rotabot logs.`)
      .catch((replyError: unknown) => logger.error({ err: replyError, ref }, "could not tell the user about the failure"));
  });
  guarded.use(createAuthorization({ operatorIds: config.operatorIds, opsChatId: config.opsChatId, audit }));
  guarded.use(createHelpFeature());
  guarded.use(createAgeFeature({ runbook, manifestFile, dueSoonDays: 30, today: () => todayUtc(now()) }));
  guarded.use(createUnhandledFeature());

  bot.catch((error) => logger.error({ err: error.error }, "unhandled bot error"));
  return { bot, audit };
}
