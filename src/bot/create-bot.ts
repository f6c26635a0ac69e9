import path from "node:path";
import { autoRetry } from "@grammyjs/auto-retry";
import { conversations, createConversation, type ConversationFlavor } from "@grammyjs/conversations";
import { sequentialize } from "@grammyjs/runner";
import { Api, Bot, type Context } from "grammy";
import { createRotateConversation, ROTATE_CONVERSATION } from "../../conversations/rotate.js";
import { todayUtc } from "../time/calendar-date.js";
import { createChannelPoster } from "../audit/create-channel-poster.js";
import type { App } from "../app/create-app.js";
import type { BotConfig } from "../config/parse-config.js";
import { createDayIntake } from "./features/rotation-day-intake.js";
import { createBotApiAgent } from "../telegram/bot-api-agent.js";
import { createSendBudget } from "../telegram/create-send-budget.js";
import { createAuthorization } from "./authorize.js";
import { createFileStorage } from "./create-file-storage.js";
import { createAgeFeature } from "./features/age.js";
import { createDigestButtons } from "./features/digest-buttons.js";
import { createHelpFeature } from "./features/help.js";
import { createPlanButtons, createOpenPlans } from "./features/plan-buttons.js";
import { createPlanFeature } from "./features/plan.js";
import { createPreflightFeature } from "./features/preflight.js";
import { createRotationDayFeature } from "./features/rotation-day.js";
import type { Preflight } from "../app/create-preflight.js";
import { createUnhandledFeature } from "./features/unhandled.js";
import { forgiveLateAnswers } from "./forgive-late-answers.js";
import { logApiCalls } from "./log-api-calls.js";
import { createRotationFeature } from "./rotation/create-rotation-feature.js";
import { createApproverResolver } from "./rotation/resolve-approver.js";
import { createRotationPresenter } from "./rotation/create-rotation-presenter.js";
import { createExposureGuard } from "./rotation/create-exposure-guard.js";
import { createSecretIntake } from "./rotation/create-secret-intake.js";
import { updateKey } from "./update-key.js";
import { trackLatestMessage } from "./track-latest-message.js";
import { watchBotApi } from "./watch-bot-api.js";
import { watchChatAccess } from "./watch-chat-access.js";

export type BotContext = ConversationFlavor<Context>;

/** A due date this many days away or closer is "due soon" (in /age and on the plan card). */
const DUE_SOON_DAYS = 30;
const AUTO_RETRY = { maxRetryAttempts: 5, maxDelaySeconds: 120, rethrowHttpErrors: true };

export interface CreateBotDeps {
  app: App<BotConfig>;
  now?: () => Date;
  /** `rotabot preflight` behind a plan card's 🧪 Preflight; no button without it. */
  preflight?: Preflight | undefined;
}

/**
 * Builds the bot with its middleware in the order it runs: ordering per user, error boundary,
 * authorization, secret intake (before conversations, so a pasted token never reaches their
 * storage), conversations, features, and the catch-all last.
 */
export function createBot({ app, now = () => new Date(), preflight }: CreateBotDeps) {
  const { config, logger, runbook, engine, redactor, audit } = app;
  const manifestFile = app.paths.manifestFile;
  const budget = createSendBudget({ perMinute: config.chatMaxPerMinute });
  // One agent for every Api object here (the bot's, the audit's, the refusals'), idle connections dropped early.
  const apiClient = {
    apiRoot: config.telegramApiRoot,
    baseFetchConfig: { agent: createBotApiAgent(config.telegramApiRoot), compress: true },
  };
  const bot = new Bot<BotContext>(config.botToken, { client: { ...apiClient, fetch: budget.fetch } });
  // Trouble with the ops or audit chat (upgraded, bot removed or muted) is said once, with its fix.
  const chatAccess = watchChatAccess({
    logger,
    audit,
    opsChatId: config.opsChatId,
    auditChatId: config.auditChatId,
  });
  bot.api.config.use(logApiCalls(logger));
  bot.api.config.use(chatAccess.transformer);
  bot.api.config.use(forgiveLateAnswers(logger));
  bot.api.config.use(budget.transformer);
  bot.api.config.use(watchBotApi({ logger, apiRoot: config.telegramApiRoot }));
  // 429s and 5xx are waited out; a network error fails the call at once (retrying it forever, as
  // auto-retry would, keeps a stopping process alive); the runner polls again every few seconds.
  bot.api.config.use(autoRetry(AUTO_RETRY));
  const opsTail = trackLatestMessage(config.opsChatId);
  bot.api.config.use(opsTail.transformer);

  // Audit lines go through an API of their own (same budget, same retries) that the ops chat's
  // tracker does not see: a one-line audit message under the progress message does not make the
  // presenter move the progress down (a send and a second of the chat's budget per card).
  const auditApi = new Api(config.botToken, apiClient);
  auditApi.config.use(logApiCalls(logger));
  auditApi.config.use(chatAccess.transformer);
  auditApi.config.use(budget.transformer);
  auditApi.config.use(autoRetry(AUTO_RETRY));
  const poster = createChannelPoster({
    send: (html) =>
      auditApi.sendMessage(config.auditChatId, html, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        ...(config.auditTopicId !== undefined ? { message_thread_id: config.auditTopicId } : {}),
      }),
    logger,
    // Without an audit chat of its own, the audit lines share the ops chat: they take at most a
    // third of its budget (merged into fewer messages), so a rotation's own cards and its
    // completion never wait behind them (npm run bench, figures a and e).
    perMinute:
      config.auditChatId === config.opsChatId
        ? Math.max(1, Math.floor(config.chatMaxPerMinute / 3))
        : config.chatMaxPerMinute,
  });
  audit.attachChannel((html) => poster.post(html));
  /** Secrets a rotation day is rotating now: one progress message for the whole day, not one each. */
  const dayKeys = new Set<string>();
  // A rotation day's credentials given up front: asked in the private chat before its first
  // rotation, held in memory, given to each rotation's collect step when it asks.
  const dayIntake = createDayIntake({
    api: bot.api,
    engine,
    redactor,
    logger,
    openRequests: (userId) => presenter.openRequests(userId),
    repost: (rotationId) => presenter.repost(rotationId),
  });
  const presenter = createRotationPresenter({
    api: bot.api,
    engine,
    opsChatId: config.opsChatId,
    latestOpsMessageId: opsTail.latest,
    botUsername: () => bot.botInfo.username,
    logger,
    urgent: budget.urgent,
    redact: (text) => redactor.redact(text),
    quiet: (rotation) => dayKeys.has(rotation.key),
    answeredElsewhere: (awaiting) => dayIntake.answers(awaiting.nonce),
    approval: app.approval,
  });

  bot.use(opsTail.middleware);
  bot.use(chatAccess.middleware);
  bot.use(sequentialize(updateKey));
  const guarded = bot.errorBoundary(async (error) => {
    const ref = Math.random().toString(36).slice(2, 8);
    logger.error({ err: error.error, ref, updateId: error.ctx.update.update_id }, "update handling failed");
    await error.ctx
      .reply(
        `Something went wrong while handling that (ref ${ref}), and it may have been partly done: send /status to see where each rotation stands before you try again. If it repeats, look for ref ${ref} in the rotabot logs.`,
      )
      .catch((replyError: unknown) =>
        logger.error({ err: replyError, ref }, "could not tell the user about the failure"),
      );
  });
  // Refusals go out once, without auto-retry: a stranger's flood must never wait out a 429 that
  // the operators' replies in the same chat would then queue behind.
  const once = new Api(config.botToken, apiClient);
  once.config.use(logApiCalls(logger));
  once.config.use(forgiveLateAnswers(logger));
  guarded.use(
    createAuthorization({
      operatorIds: config.operatorIds,
      opsChatId: config.opsChatId,
      audit,
      logger,
      refusals: {
        send: (chatId, text) => once.sendMessage(chatId, text),
        answer: (queryId, text) =>
          once.answerCallbackQuery(queryId, text === undefined ? {} : { text, show_alert: true }),
      },
    }),
  );
  guarded.use(dayIntake.middleware);
  guarded.use(createSecretIntake({ engine, presenter }));
  guarded.use(
    createExposureGuard({
      runbook,
      engine,
      presenter,
      redactor,
      audit,
      learnVaultValues: () => app.vault.learnValues(),
      dayWaitingFor: (userId) => dayIntake.waitingFor(userId),
    }),
  );
  guarded.use(
    conversations<BotContext, Context>({
      storage: {
        type: "key",
        version: 1,
        getStorageKey: (ctx) => updateKey(ctx),
        adapter: createFileStorage(path.join(config.stateDir, "conversations")),
      },
      plugins: [
        async (ctx, next) => {
          ctx.api.config.use(forgiveLateAnswers(logger));
          ctx.api.config.use(autoRetry(AUTO_RETRY));
          await next();
        },
      ],
    }),
  );
  const plans = createOpenPlans();
  const { paths } = app;
  guarded.use(
    createConversation(
      createRotateConversation({
        engine,
        audit,
        runbook,
        manifestFile,
        paths,
        dueSoonDays: DUE_SOON_DAYS,
        plans,
        now,
        preflight: preflight !== undefined,
        urgent: budget.urgent,
      }),
      ROTATE_CONVERSATION,
    ),
  );
  guarded.use(createHelpFeature());
  guarded.use(
    createAgeFeature({
      runbook,
      manifestFile,
      dueSoonDays: DUE_SOON_DAYS,
      today: () => todayUtc(now()),
      opsChatId: config.opsChatId,
    }),
  );
  guarded.use(createPlanFeature({ runbook, manifestFile, paths, now }));
  guarded.use(createPlanButtons({ plans, audit }));
  if (preflight) guarded.use(createPreflightFeature({ preflight, runbook, manifestFile, logger, now }));
  guarded.use(createDigestButtons(config.opsChatId));
  guarded.use(
    createRotationDayFeature({
      engine,
      runbook,
      manifestFile,
      stateDir: config.stateDir,
      opsChatId: config.opsChatId,
      api: bot.api,
      now,
      logger,
      dayKeys,
      intake: dayIntake,
    }),
  );
  guarded.use(
    createRotationFeature({
      engine,
      presenter,
      audit,
      opsChatId: config.opsChatId,
      now,
      logger,
      stateDir: paths.stateDir,
      resolveApprover: createApproverResolver({
        approverIds: config.approverIds,
        requireSecondApprover: config.requireSecondApprover,
        member: async (userId) => (await bot.api.getChatMember(config.opsChatId, userId)).user,
      }),
    }),
  );
  guarded.use(createUnhandledFeature());

  bot.catch((error) => logger.error({ err: error.error }, "unhandled bot error"));
  return { bot, presenter, poster };
}
