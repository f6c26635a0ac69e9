import { hostname } from "node:os";
import path from "node:path";
import { loadAuditKey, type AuditKey } from "../audit/audit-key.js";
import { createAuditLog } from "../audit/audit-log.js";
import { auditRotationEvents } from "../audit/audit-rotation-events.js";
import { createAudit } from "../audit/create-audit.js";
import { createChannelPoster } from "../audit/create-channel-poster.js";
import { ConfigError, parseConfig, type BotConfig, type Config } from "../config/parse-config.js";
import { allowedEnv } from "../exec/allowed-env.js";
import { createCommandRunner } from "../exec/create-command-runner.js";
import { createCrashPoints } from "../fs/crash-points.js";
import { createFileReplacer } from "../fs/replace-file.js";
import { createGit } from "../git/create-git.js";
import { createLogger, type Logger } from "../logging/create-logger.js";
import { createRedactor } from "../logging/redactor.js";
import { prepareStateDir } from "../fs/prepare-state-dir.js";
import { fail, type Result } from "../result.js";
import { createDeployMarker } from "../rotation/create-deploy-marker.js";
import { createJournal } from "../rotation/create-journal.js";
import { createRotationEngine } from "../rotation/create-rotation-engine.js";
import { createSecretLocks } from "../rotation/create-secret-locks.js";
import { loadRunbook } from "../runbook/load-runbook.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { createNatsChecks } from "../services/nats.js";
import { createPostgresChecks } from "../services/postgres.js";
import { createTelegramChecks } from "../services/telegram-bot.js";
import { callBotApi } from "../telegram/call-bot-api.js";
import { createAnsibleVaultCli } from "../vault/ansible-vault-cli.js";
import { createVault } from "../vault/create-vault.js";

/** The folders the journal, locks, command logs, vault backups and conversations keep under STATE_DIR. */
const STATE_SUBFOLDERS = ["rotations", "locks", "logs", "vault-backups", "conversations"];

/** What the composition root needs from the process. */
export interface AppIo {
  env: Readonly<Record<string, string | undefined>>;
  packageRoot: string;
  now: () => Date;
  /** Where shell commands log (the bot logs to stdout). */
  stderr: (text: string) => void;
}

export type AppOptions =
  | { purpose: "start" }
  | { purpose: "cli"; /** `--infra DIR` wins over INFRA_DIR. */ infraOverride?: string | undefined };

/**
 * The one composition root: configuration, runbook, redactor, logger, vault, engine and audit,
 * wired once for `rotabot start` and the shell commands alike. Problems come back as one message.
 */
export async function createApp(io: AppIo, options: { purpose: "start" }): Promise<Result<{ app: App<BotConfig> }>>;
export async function createApp(
  io: AppIo,
  options: AppOptions,
): Promise<Result<{ app: App<Config & { infraDir: string }> }>>;
export async function createApp(
  io: AppIo,
  options: AppOptions,
): Promise<Result<{ app: App<Config & { infraDir: string }> }>> {
  let config: Config;
  try {
    const env =
      options.purpose === "cli" && options.infraOverride ? { ...io.env, INFRA_DIR: options.infraOverride } : io.env;
    config = parseConfig(env, { purpose: options.purpose, packageRoot: io.packageRoot });
  } catch (error) {
    if (error instanceof ConfigError) return fail("config", `${error.message}\nSee .env.example for every setting.`);
    throw error;
  }
  const infraDir = config.infraDir;
  if (infraDir === undefined) {
    return fail("config", "INFRA_DIR is not set: set it (or pass --infra DIR) to the Akira infra checkout");
  }
  // Before anything opens a file under it (journal, locks, audit log, conversations, logs).
  const stateDir = prepareStateDir(config.stateDir, { subfolders: STATE_SUBFOLDERS });
  if (!stateDir.ok) return stateDir;
  const loaded = await loadRunbook(config.runbookFile);
  if (!loaded.ok) return fail("runbook", `the runbook is not valid:\n  ${loaded.problems.join("\n  ")}`);
  const auditKey = loadAuditKey(config.auditKey);
  if (!auditKey.ok) return auditKey;
  const redactor = createRedactor(config.botToken ? [config.botToken] : []);
  const logger =
    options.purpose === "start"
      ? createLogger({ level: config.logLevel, redactor })
      : createLogger({
          level: config.logLevel === "info" ? "warn" : config.logLevel,
          redactor,
          stream: { write: (line: string) => io.stderr(line) },
        });
  try {
    return {
      ok: true,
      app: wire(options.purpose, { ...config, infraDir }, loaded.runbook, logger, redactor, io, auditKey.key),
    };
  } catch (error) {
    // A folder under STATE_DIR that changed since the check above: still one line, not a stack trace.
    const { code, path: at } = error as NodeJS.ErrnoException;
    if (code && at?.startsWith(config.stateDir))
      return fail(
        "state_dir",
        `STATE_DIR=${config.stateDir} cannot be used: ${at} gives ${code}; set STATE_DIR to a folder the rotabot user can write`,
      );
    throw error;
  }
}

/**
 * The audit channel for shell commands: the bot's token and chat, when configured (best effort).
 * Lines that could not go there are counted, and `notTold` says once why, so the shell can tell
 * the operator that the team did not see them (they are in the audit log either way).
 */
function shellAuditChannel(config: Config, logger: Logger) {
  const { botToken, auditChatId, telegramApiRoot, botTokenProblem } = config;
  let missed = 0;
  let why =
    botTokenProblem !== undefined
      ? `BOT_TOKEN cannot be used (${botTokenProblem})`
      : !botToken
        ? "no bot token is configured (BOT_TOKEN, or the systemd credential bot_token)"
        : auditChatId === undefined
          ? "neither AUDIT_CHAT_ID nor OPS_CHAT_ID is set"
          : undefined;
  const poster =
    why === undefined
      ? createChannelPoster({
          send: async (html) => {
            try {
              const reply = await callBotApi(telegramApiRoot, botToken!, "sendMessage", {
                chat_id: auditChatId,
                text: html,
                parse_mode: "HTML",
                link_preview_options: { is_disabled: true },
              });
              if (!reply.ok)
                throw new Error(`Telegram refused it: ${reply.error_code ?? "?"} ${reply.description ?? ""}`);
            } catch (error) {
              missed += 1;
              why = `${(error as Error).name === "TimeoutError" ? "Telegram did not answer" : (error as Error).message} (TELEGRAM_API_ROOT=${telegramApiRoot})`;
            }
          },
          logger,
          perMinute: config.chatMaxPerMinute,
        })
      : undefined;
  return {
    post(html: string): void {
      if (poster) poster.post(html);
      else missed += 1;
    },
    /** Waits until the audit lines of a shell command have been posted (or failed). */
    flushed: async () => poster?.flushed(),
    /** Why some audit lines did not reach the audit channel, with how many; undefined when all did. */
    notTold(): string | undefined {
      if (missed === 0) return undefined;
      const what = poster
        ? "some of this command's audit lines"
        : `this command's ${missed === 1 ? "audit line" : `${missed} audit lines`}`;
      return `the audit channel was not told of ${what}: ${why ?? "unknown"}. Every line is in ${path.join(config.stateDir, "audit.jsonl")}; tell the team yourself`;
    },
  };
}

function wire(
  purpose: AppOptions["purpose"],
  config: Config & { infraDir: string },
  runbook: Runbook,
  logger: Logger,
  redactor: ReturnType<typeof createRedactor>,
  io: AppIo,
  auditKey: AuditKey | undefined,
) {
  const baseEnv = allowedEnv(io.env);
  const infra = (file: string) => path.join(config.infraDir, file);
  const crash = createCrashPoints(config.crashAt);
  const files = createFileReplacer({
    stateDir: config.stateDir,
    targets: [infra(runbook.files.vault), infra(runbook.files.manifest), infra(runbook.files.changelog)],
    crash,
  });
  const vault = createVault({
    vaultFile: infra(runbook.files.vault),
    passwordFile: config.vaultPasswordFile,
    cli: createAnsibleVaultCli({ passwordFile: config.vaultPasswordFile, env: baseEnv }),
    backupDir: path.join(config.stateDir, "vault-backups"),
    files,
    now: io.now,
    // Every value in the vault is hidden from everything rotabot writes, not only the rotated one.
    onValues: (values) => redactor.addAll(values),
  });
  const paths = {
    infraDir: config.infraDir,
    stateDir: config.stateDir,
    vaultPasswordFile: config.vaultPasswordFile,
    manifestFile: infra(runbook.files.manifest),
    changelogFile: infra(runbook.files.changelog),
    commitFiles: [runbook.files.vault, runbook.files.manifest, runbook.files.changelog],
  };
  // The two-person rule as the engine applies it (actor ids), and the chat's cards describe it.
  const approval = {
    requireSecondApprover: config.requireSecondApprover,
    approverIds: config.approverIds.map((id) => `tg:${id}`),
  };
  const engine = createRotationEngine({
    runbook,
    vault,
    files,
    runCommand: createCommandRunner({ cwd: config.infraDir, baseEnv, redactor }),
    redactor,
    git: createGit({ cwd: config.infraDir, env: baseEnv }),
    services: {
      postgres: createPostgresChecks(io.env),
      telegram: createTelegramChecks({ apiRoot: config.telegramApiRoot, alertChatId: config.opsChatId }),
      nats: createNatsChecks(io.env),
    },
    paths,
    env: io.env,
    now: io.now,
    journal: createJournal(config.stateDir),
    locks: createSecretLocks(config.stateDir),
    logger,
    confirmTimeoutMs: config.confirmTimeoutMs,
    approval,
    self: { pid: process.pid, host: hostname() },
    isAlive,
    ownToken: config.botToken,
    deployMarker: runbook.deploy_guard && createDeployMarker({ file: infra(runbook.deploy_guard.marker), isAlive }),
  });
  // Every rotation is audited into the hash-chained log. `rotabot start` attaches the audit channel
  // through the bot; a shell rotation posts there too when the bot's settings are at hand.
  const auditLog = createAuditLog(config.stateDir, io.now, { crash, key: auditKey });
  const audit = createAudit({ log: auditLog, logger });
  auditRotationEvents(engine, audit);
  const shellChannel = purpose === "cli" ? shellAuditChannel(config, logger) : undefined;
  if (shellChannel) audit.attachChannel((html) => shellChannel.post(html));
  /**
   * Waits until the audit lines of a shell command have been posted; then says why some could not
   * be (once), or undefined when every line reached the channel.
   */
  const flush = async (): Promise<string | undefined> => {
    await shellChannel?.flushed();
    return shellChannel?.notTold();
  };
  return { config, runbook, logger, redactor, vault, files, engine, approval, audit, auditLog, auditKey, paths, flush };
}

export type App<C extends Config = Config & { infraDir: string }> = Omit<ReturnType<typeof wire>, "config"> & {
  config: C;
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
