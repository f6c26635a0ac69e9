import path from "node:path";
import { run } from "@grammyjs/runner";
import { GrammyError } from "grammy";
import { createApp } from "../app/create-app.js";
import { COMMAND_MENU } from "../bot/protocol/command-menu.js";
import { createBot } from "../bot/create-bot.js";
import { createPreflight } from "../app/create-preflight.js";
import { waitForBotApi } from "../bot/wait-for-bot-api.js";
import type { Logger } from "../logging/create-logger.js";
import { assessOpsChatRights } from "../telegram/chat-trouble.js";
import { describeTelegramError } from "../telegram/send-or-edit.js";
import { RETRY_SECONDS } from "../bot/watch-bot-api.js";
import { createDigestSender } from "../reminders/create-digest-sender.js";
import { createReminders, type Reminders } from "../reminders/create-reminders.js";
import { REFUSALS } from "../rotation/prompts.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { clearReady, signalReady } from "./signal-ready.js";

/** How long a stop waits for the audit channel's last lines (the send budget may pace them). */
const FLUSH_MS = 10_000;

/** Whether `task` settled within `ms` (it goes on in the background otherwise). */
async function within(ms: number, task: Promise<unknown> | undefined): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    Promise.resolve(task).then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

/** Update types rotabot acts on; Telegram then sends no others. */
const ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"] as const;

/** `rotabot start`: validates everything, then long-polls until SIGINT/SIGTERM. */
export async function runStartCommand(_args: string[], io: CliIo): Promise<number> {
  const opened = await createApp(io, { purpose: "start" });
  if (!opened.ok) {
    io.stderr(`rotabot start: ${opened.message}\n`);
    return EXIT.usage;
  }
  const { app } = opened;
  const { config, logger, runbook, engine, audit } = app;
  const preflight = createPreflight({ config, runbook, env: io.env, redactor: app.redactor, vault: app.vault });
  const { bot, presenter, poster } = createBot({ app, now: io.now, preflight });
  // Teaches the redactor every vault value ahead of the first message, without holding up the start
  // (an ansible-vault run): the exposure guard reads the vault again before it checks any message.
  void app.vault.listKeys().then(
    (warmed) => {
      if (!warmed.ok) logger.warn({ problem: warmed.message }, "cannot read the vault yet; rotabot doctor says why");
    },
    (error: unknown) => logger.warn({ err: error }, "cannot read the vault yet; rotabot doctor says why"),
  );
  const recovered = await engine.recover();

  const reached = await waitForBotApi(bot, { apiRoot: config.telegramApiRoot, logger, stop: io.stopSignal });
  if (!reached.ready) {
    if (reached.stopped) return EXIT.ok;
    logger.fatal({ err: reached.error }, explainStartFailure(reached.error, config.telegramApiRoot));
    return EXIT.attention;
  }
  await bot.api
    .setMyCommands(COMMAND_MENU)
    .catch((error: unknown) => logger.warn({ err: error }, "could not register the command menu"));
  logger.info(
    {
      bot: bot.botInfo.username,
      opsChatId: config.opsChatId,
      auditChatId: config.auditChatId,
      operators: config.operatorIds.length,
      runbook: config.runbookFile,
      infraDir: config.infraDir,
    },
    "rotabot started",
  );
  audit.record({
    type: "bot_started",
    version: io.version,
    procedures: runbook.procedures.length,
    runbookFile: config.runbookFile,
    auditKey: app.auditKey && {
      id: app.auditKey.id,
      keyedFrom: app.auditLog.state.ok ? app.auditLog.state.keyedFrom : undefined,
    },
  });
  await checkOpsChatRights(bot, config.opsChatId, logger);
  // A token request from before the restart is asked again, so a pasted token is taken in, not left in the chat.
  for (const rotation of recovered) if (rotation.awaiting?.kind === "collect") await presenter.repost(rotation.id);
  if (!app.auditLog.state.ok) {
    logger.error({ audit: app.auditLog.state }, app.auditLog.state.message);
    await bot.api
      .sendMessage(config.opsChatId, `⚠️ ${app.auditLog.state.message}`)
      .catch((error: unknown) => logger.warn({ err: error }, "could not announce the audit log's state"));
  }
  for (const d of await engine.damaged()) {
    logger.error({ rotationId: d.id, problem: d.problem }, "a rotation journal is damaged");
    await bot.api
      .sendMessage(config.opsChatId, REFUSALS.damaged(d.id, d.problem))
      .catch((error: unknown) => logger.warn({ err: error }, "could not announce a damaged journal"));
  }
  if (recovered.length > 0) {
    const lines = recovered.map(
      (r) =>
        `• ${r.key} [${r.id}] by ${r.initiator.name}: ${r.state.replace("_", " ")} — /resume ${r.id} or /cancel ${r.id}`,
    );
    await bot.api
      .sendMessage(config.opsChatId, `⚠️ rotabot restarted with rotations in flight:\n${lines.join("\n")}`)
      .catch((error: unknown) => logger.warn({ err: error }, "could not announce the rotations in flight"));
  }

  let reminders: Reminders | undefined;
  if (config.reminders) {
    reminders = createReminders({
      schedule: config.reminders,
      stateFile: path.join(config.stateDir, "reminders.json"),
      runDigest: createDigestSender({
        api: bot.api,
        runbook,
        manifestFile: app.paths.manifestFile,
        opsChatId: config.opsChatId,
        topicId: config.digestTopicId,
        dueSoonDays: 30,
        timeZone: config.reminders.timeZone,
      }),
      logger,
      now: io.now,
    });
    await reminders.start();
  }

  const runner = run(bot, {
    runner: {
      fetch: { allowed_updates: ALLOWED_UPDATES, timeout: 30 },
      silent: true,
      // Fixed, short: the default doubles without a cap, and a stop waits out the current pause.
      retryInterval: RETRY_SECONDS * 1000,
    },
  });
  if (config.readyFile) {
    const file = config.readyFile;
    await signalReady(file).catch((error: unknown) =>
      logger.error(
        { err: error, readyFile: file },
        "cannot write READY_FILE, so whatever waits for rotabot to be ready will not see it: make its folder exist and be writable by rotabot, or unset READY_FILE",
      ),
    );
  }
  const outcome = await Promise.race([
    io.stopSignal.then((signal) => ({ kind: "signal" as const, signal })),
    (runner.task() ?? Promise.resolve()).then(
      () => ({ kind: "stopped" as const }),
      (error: unknown) => ({ kind: "failed" as const, error }),
    ),
  ]);
  if (config.readyFile) await clearReady(config.readyFile).catch(() => undefined);
  if (outcome.kind === "failed") {
    logger.fatal({ err: outcome.error }, explainStartFailure(outcome.error, config.telegramApiRoot));
    return EXIT.attention;
  }
  logger.info(
    { reason: outcome.kind === "signal" ? outcome.signal : "runner stopped" },
    "stopping: finishing the updates in hand",
  );
  // Every wait below is bounded: systemd stops waiting after SHUTDOWN_GRACE + 30 s.
  if (runner.isRunning()) await within(RETRY_SECONDS * 1000 + 2_000, runner.stop());
  await reminders?.stop();
  await engine.stopAll(config.shutdownGraceMs);
  presenter.stop();
  if (!(await within(FLUSH_MS, poster.flushed()))) {
    logger.warn("stopping before every audit line reached the audit chat; they are all in STATE_DIR/audit.jsonl");
  }
  logger.info("rotabot stopped");
  return EXIT.ok;
}

/**
 * Reads the bot's rights in the ops chat (getChatMember) and privacy mode (getMe): without them a
 * secret pasted there is neither seen nor deleted, so rotabot says so in its log and in the chat,
 * with the fix. A chat it cannot read at all is said by the chat-access watcher.
 */
async function checkOpsChatRights(bot: ReturnType<typeof createBot>["bot"], opsChatId: number, logger: Logger) {
  const [chat, member] = await Promise.all([
    bot.api.getChat(opsChatId).catch(() => undefined),
    bot.api.getChatMember(opsChatId, bot.botInfo.id).catch(() => undefined),
  ]);
  if (!chat || !member) return;
  const rights = assessOpsChatRights(
    {
      chatType: chat.type,
      status: member.status,
      ...("can_delete_messages" in member ? { can_delete_messages: member.can_delete_messages } : {}),
      canReadAllGroupMessages: bot.botInfo.can_read_all_group_messages,
    },
    `@${bot.botInfo.username}`,
  );
  if (rights.ok) return;
  logger.warn({ opsChatId, status: member.status }, `${rights.lost}. Fix: ${rights.fix}.`);
  await bot.api
    .sendMessage(opsChatId, `⚠️ ${rights.lost}. To fix it, ${rights.fix}.`)
    .catch((error: unknown) => logger.warn({ err: error }, "could not say in the ops chat what its rights cost"));
}

function explainStartFailure(error: unknown, apiRoot: string): string {
  if (error instanceof GrammyError && error.error_code === 401) {
    return "Telegram refused BOT_TOKEN (401): it is wrong or was revoked. Get the current token from @BotFather, put it where rotabot reads it (the systemd credential bot_token, see docs/deploy.md, 'Rotating rotabot's own bot token'; or BOT_TOKEN) and start again.";
  }
  if (error instanceof GrammyError && error.error_code === 409) {
    return "Another process is polling with this bot token (409). Stop the other rotabot instance, then start again.";
  }
  return `the Telegram Bot API at TELEGRAM_API_ROOT=${apiRoot} refused or failed (${describeTelegramError(error)}); check TELEGRAM_API_ROOT and the network, then start again`;
}
