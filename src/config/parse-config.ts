import path from "node:path";
import { z } from "zod";
import { parseCrashAt, type CrashAt } from "../fs/crash-points.js";
import { TELEGRAM_CHAT_BUDGET } from "../telegram/telegram-limits.js";
import { parseDuration } from "../time/duration.js";
import { readCredentialFile, type ReadCredential } from "./read-credential.js";

/** What the configuration is for: `start` needs the Telegram settings, the shell commands do not. */
export type ConfigPurpose = "start" | "cli";

/** Options that `parseConfig` cannot read from the environment. */
export interface ParseConfigOptions {
  purpose: ConfigPurpose;
  /** Root of the installed rotabot package; the default runbook lives below it. */
  packageRoot: string;
  /** Reads systemd credentials (`$CREDENTIALS_DIRECTORY/<name>`); tests pass their own. */
  readCredential?: ReadCredential;
}

/** Thrown once with every bad field, each with a hint that says how to fix it. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Configuration is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const BOT_TOKEN_PATTERN = /^\d{3,20}:[A-Za-z0-9_-]{30,64}$/;

const integerId = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^-?\d{1,20}$/, `${name} must be a Telegram id: a whole number such as -1001234567890`)
    .transform(Number)
    .refine(Number.isSafeInteger, `${name} is too long for a Telegram id: copy it again, such as -1001234567890`);

/**
 * A group's or channel's id. Groups and channels have negative ids; the positive number is the
 * group id with the sign and `-100` dropped (as some tools show it), and the bot would then
 * ignore the real group, so it is refused with the ids it most likely means.
 */
const chatId = (name: string) =>
  integerId(name).superRefine((id, ctx) => {
    if (id <= 0) return;
    ctx.addIssue({
      code: "custom",
      message: `${name}=${id} is a positive number, but groups and channels have negative ids: for a supergroup or channel set ${name}=-100${id}, for a basic group ${name}=-${id} (docs/deploy.md, step 3, shows how to read the id)`,
    });
  });

/** A forum topic of a supergroup (Telegram's `message_thread_id`): a positive whole number. */
const topicId = (name: string, chat: string) =>
  z
    .string()
    .trim()
    .regex(
      /^[1-9]\d{0,9}$/,
      `${name} must be the number of a forum topic of ${chat}: the number after the group's name in the topic's link (t.me/c/<group>/<topic>), such as 42; docs/deploy.md, step 3`,
    )
    .transform(Number);

const userIdList = z
  .string()
  .trim()
  .regex(
    /^\d{1,20}(\s*,\s*\d{1,20})*$/,
    "OPERATOR_IDS must be comma-separated Telegram user ids, for example 11111,22222",
  )
  .transform((s) => [...new Set(s.split(",").map((id) => Number(id.trim())))]);

const messagesPerMinute = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^[1-9]\d{0,3}$/, `${name} must be a whole number of messages, such as ${TELEGRAM_CHAT_BUDGET}`)
    .transform(Number);

/** A Bot API on this machine: the tests' and the sandbox's stand-in, which has no flood limits. */
function isLoopback(apiRoot: string): boolean {
  const host = new URL(apiRoot).hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * A duration setting in milliseconds, within `min` and `max`: zero would expire or stop
 * everything at once, and a timer past 2^31-1 ms (about 24.8 days) fires at once in Node.
 */
function durationSetting(name: string, examples: string, range: { min: string; max: string }) {
  const [min, max] = [parseDuration(range.min)!, parseDuration(range.max)!];
  return z
    .string()
    .trim()
    .superRefine((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) ctx.addIssue({ code: "custom", message: `${name} must be a duration such as ${examples}` });
      else if (ms < min || ms > max)
        ctx.addIssue({
          code: "custom",
          message: `${name}=${text} is out of range: it must be between ${range.min} and ${range.max}, such as ${examples}`,
        });
    })
    .transform((text) => parseDuration(text)!);
}

const envSchema = z.object({
  BOT_TOKEN: z
    .string()
    .trim()
    .regex(
      BOT_TOKEN_PATTERN,
      "BOT_TOKEN does not look like a bot token (digits, a colon, 30+ letters); copy it again from @BotFather",
    )
    .optional(),
  TELEGRAM_API_ROOT: z
    .url({ protocol: /^https?$/, error: "TELEGRAM_API_ROOT must be an http(s) URL such as https://api.telegram.org" })
    .transform((u) => u.replace(/\/+$/, ""))
    .default("https://api.telegram.org"),
  OPS_CHAT_ID: chatId("OPS_CHAT_ID").optional(),
  AUDIT_CHAT_ID: chatId("AUDIT_CHAT_ID").optional(),
  DIGEST_TOPIC_ID: topicId("DIGEST_TOPIC_ID", "OPS_CHAT_ID").optional(),
  AUDIT_TOPIC_ID: topicId("AUDIT_TOPIC_ID", "AUDIT_CHAT_ID").optional(),
  OPERATOR_IDS: userIdList.optional(),
  INFRA_DIR: z.string().trim().min(1).optional(),
  VAULT_PASSWORD_FILE: z.string().trim().min(1).default("~/.akira-vault-pass.txt"),
  RUNBOOK_FILE: z.string().trim().min(1).optional(),
  STATE_DIR: z.string().trim().min(1).optional(),
  AUDIT_KEY_FILE: z.string().trim().min(1).optional(),
  CONFIRM_TIMEOUT: durationSetting("CONFIRM_TIMEOUT", "15m, 900s or 1h", { min: "1s", max: "24h" }).default(
    15 * 60_000,
  ),
  APPROVER_IDS: z
    .string()
    .trim()
    .regex(/^\d{1,20}(\s*,\s*\d{1,20})*$/, "APPROVER_IDS must be comma-separated Telegram user ids")
    .transform((s) => [...new Set(s.split(",").map((id) => Number(id.trim())))])
    .optional(),
  REQUIRE_SECOND_APPROVER: z
    .enum(["true", "false"], { error: "REQUIRE_SECOND_APPROVER must be true or false" })
    .transform((v) => v === "true")
    .default(false),
  CHAT_MAX_PER_MINUTE: messagesPerMinute("CHAT_MAX_PER_MINUTE").optional(),
  /** The old name of CHAT_MAX_PER_MINUTE, still read. */
  AUDIT_MAX_PER_MINUTE: messagesPerMinute("AUDIT_MAX_PER_MINUTE").optional(),
  REMINDER_TIME: z
    .string()
    .trim()
    .regex(/^(off|([01]\d|2[0-3]):[0-5]\d)$/, "REMINDER_TIME must be a time of day such as 09:00 (24-hour), or off")
    .default("09:00"),
  REMINDER_TIMEZONE: z
    .string()
    .trim()
    .refine(isTimeZone, "REMINDER_TIMEZONE must be an IANA time zone such as UTC or Europe/Berlin")
    .default("UTC"),
  SHUTDOWN_GRACE: durationSetting("SHUTDOWN_GRACE", "30s or 2m", { min: "1s", max: "1h" }).default(30_000),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
  READY_FILE: z.string().trim().min(1).optional(),
  /** Crash tests only (docs/development.md): where rotabot stops itself so the test can kill it. */
  ROTABOT_CRASH_AT: z
    .string()
    .trim()
    .refine(
      (v) => parseCrashAt(v) !== undefined,
      "ROTABOT_CRASH_AT must name a crash point of src/fs/crash-points.ts (optionally with #n); unset it outside crash tests",
    )
    .transform((v) => parseCrashAt(v)!)
    .optional(),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** When the daily digest of secrets that need action goes to the ops chat; undefined when off. */
export interface ReminderSchedule {
  hour: number;
  minute: number;
  timeZone: string;
}

/** Settings every command shares. */
export interface BaseConfig {
  telegramApiRoot: string;
  /** Absolute path of the infra checkout, or undefined when not configured. */
  infraDir: string | undefined;
  vaultPasswordFile: string;
  runbookFile: string;
  stateDir: string;
  /**
   * The audit log's HMAC key: AUDIT_KEY_FILE, else the systemd credential `audit_key`; `required`
   * when AUDIT_KEY_FILE names it (a missing file is then an error, not an unkeyed log).
   */
  auditKey: { file: string; required: boolean } | undefined;
  /**
   * Why BOT_TOKEN (or the credential bot_token) cannot be used, for the shell commands: they do not
   * need Telegram, so a bad token is no reason to refuse them; the audit channel and doctor say it.
   */
  botTokenProblem?: string | undefined;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  /** How long a confirmation button stays valid. */
  confirmTimeoutMs: number;
  /** Users whose press may approve a destructive step when a second approver is required. */
  approverIds: readonly number[];
  requireSecondApprover: boolean;
  /** Messages and edits per minute to any one chat (one send budget per chat; Telegram allows about 20 in a group). */
  chatMaxPerMinute: number;
  reminders: ReminderSchedule | undefined;
  /** How long a running command may finish after SIGTERM before it is stopped. */
  shutdownGraceMs: number;
  /** Crash tests only: the storage window where rotabot stops itself (ROTABOT_CRASH_AT). */
  crashAt: CrashAt | undefined;
  /** Where `rotabot start` says it is ready (READY=1, MAINPID=<pid>) once it polls Telegram; undefined: nowhere. */
  readyFile: string | undefined;
  /** The forum topic of the ops chat that gets the daily digest; undefined: the chat's general topic. */
  digestTopicId: number | undefined;
  /** The forum topic of the audit chat that gets the audit lines; undefined: the chat's general topic. */
  auditTopicId: number | undefined;
}

/** Settings of `rotabot start`: the Telegram side is required. */
export interface BotConfig extends BaseConfig {
  botToken: string;
  opsChatId: number;
  auditChatId: number;
  operatorIds: readonly number[];
  infraDir: string;
}

export type Config = BaseConfig & Partial<Omit<BotConfig, keyof BaseConfig>>;

const REQUIRED_FOR_START = {
  BOT_TOKEN:
    "BOT_TOKEN is required to start the bot: create a bot with @BotFather and put its token here (or in the systemd credential bot_token, docs/deploy.md)",
  OPS_CHAT_ID:
    "OPS_CHAT_ID is required to start the bot: the id of the ops group (docs/deploy.md, step 3, shows how to find it)",
  OPERATOR_IDS: "OPERATOR_IDS is required to start the bot: the Telegram user ids allowed to rotate secrets",
  INFRA_DIR: "INFRA_DIR is required to start the bot: the root of the Akira infra checkout",
} as const;

/**
 * Parses rotabot's settings from an environment map. Pure but for systemd credentials: when
 * CREDENTIALS_DIRECTORY is set (a unit with LoadCredential[Encrypted]=), BOT_TOKEN defaults to the
 * credential `bot_token` and VAULT_PASSWORD_FILE to the credential file `vault_password`.
 * Pass `process.env` only from main. Throws one ConfigError that lists every bad field with a
 * hint; secret values are never echoed.
 */
export function parseConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: ParseConfigOptions & { purpose: "start" },
): BotConfig;
export function parseConfig(env: Readonly<Record<string, string | undefined>>, options: ParseConfigOptions): Config;
export function parseConfig(env: Readonly<Record<string, string | undefined>>, options: ParseConfigOptions): Config {
  const present: Record<string, string> = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value.trim() === "" ? [] : [[key, value]];
    }),
  );
  const credentials = fromCredentials(env, present, options.readCredential ?? readCredentialFile);
  Object.assign(present, credentials.settings);
  // Only `start` talks to Telegram for sure: the shell commands keep working with a bad token (the
  // fallback when the bot is down must not be blocked by a setting only the bot needs).
  let botTokenProblem: string | undefined;
  if (options.purpose === "cli") {
    const tokenIssue =
      "BOT_TOKEN" in present ? envSchema.shape.BOT_TOKEN.safeParse(present.BOT_TOKEN).error?.issues[0] : undefined;
    const credentialProblem = credentials.problems.find(([field]) => field === "BOT_TOKEN");
    if (tokenIssue) botTokenProblem = tokenMessage(tokenIssue.message, credentials.tokenFile);
    else if (credentialProblem) botTokenProblem = credentialProblem[1];
    if (botTokenProblem !== undefined) {
      delete present.BOT_TOKEN;
      credentials.problems = credentials.problems.filter(([field]) => field !== "BOT_TOKEN");
    }
  }
  const parsed = envSchema.safeParse(present);
  const problems: [field: string, message: string][] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const field = String(issue.path[0] ?? "environment");
        if (field === "BOT_TOKEN") return [field, tokenMessage(issue.message, credentials.tokenFile)];
        return [field, issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`];
      });
  problems.push(...credentials.problems);
  if (options.purpose === "start") {
    for (const [key, hint] of Object.entries(REQUIRED_FOR_START)) {
      if (!(key in present) && !problems.some(([field]) => field === key)) problems.push([key, hint]);
    }
  }
  if (parsed.success && parsed.data.REQUIRE_SECOND_APPROVER && (parsed.data.APPROVER_IDS ?? []).length === 0) {
    problems.push([
      "REQUIRE_SECOND_APPROVER",
      "REQUIRE_SECOND_APPROVER=true needs APPROVER_IDS: the users who may approve destructive steps",
    ]);
  }
  // The bot hears operators only: an approver who is not one could never press Confirm.
  const operators = parsed.success ? parsed.data.OPERATOR_IDS : undefined;
  const strangers = operators ? (parsed.data!.APPROVER_IDS ?? []).filter((id) => !operators.includes(id)) : [];
  if (strangers.length > 0) {
    problems.push([
      "APPROVER_IDS",
      `APPROVER_IDS lists ${strangers.join(", ")}, not in OPERATOR_IDS: the bot ignores anyone who is not an operator, so they could never approve; add them to OPERATOR_IDS too, or remove them from APPROVER_IDS`,
    ]);
  }
  const budgetSetting = parsed.success
    ? parsed.data.CHAT_MAX_PER_MINUTE !== undefined
      ? (["CHAT_MAX_PER_MINUTE", parsed.data.CHAT_MAX_PER_MINUTE] as const)
      : parsed.data.AUDIT_MAX_PER_MINUTE !== undefined
        ? (["AUDIT_MAX_PER_MINUTE", parsed.data.AUDIT_MAX_PER_MINUTE] as const)
        : undefined
    : undefined;
  if (budgetSetting && budgetSetting[1] > TELEGRAM_CHAT_BUDGET && !isLoopback(parsed.data!.TELEGRAM_API_ROOT)) {
    const [name, value] = budgetSetting;
    problems.push([
      name,
      `${name}=${value} is more than Telegram allows (about 20 messages a minute in a group, 1 a second in any chat): set at most ${TELEGRAM_CHAT_BUDGET}, or remove it. Larger budgets are only for a Bot API stand-in on this machine (TELEGRAM_API_ROOT on 127.0.0.1).`,
    ]);
  }
  if (problems.length > 0 || !parsed.success) {
    const order = Object.keys(envSchema.shape);
    throw new ConfigError(
      problems.sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([, message]) => message),
    );
  }

  const e = parsed.data;
  const chatBudget = e.CHAT_MAX_PER_MINUTE ?? e.AUDIT_MAX_PER_MINUTE ?? TELEGRAM_CHAT_BUDGET;
  const home = env.HOME ?? "/root";
  const expand = (p: string) => path.resolve(p.replace(/^~(?=$|\/)/, home));
  return {
    telegramApiRoot: e.TELEGRAM_API_ROOT,
    infraDir: e.INFRA_DIR === undefined ? undefined : expand(e.INFRA_DIR),
    vaultPasswordFile: expand(e.VAULT_PASSWORD_FILE),
    runbookFile:
      e.RUNBOOK_FILE === undefined ? path.join(options.packageRoot, "deploy", "runbook.yml") : expand(e.RUNBOOK_FILE),
    stateDir: expand(e.STATE_DIR ?? path.join(env.XDG_STATE_HOME ?? path.join(home, ".local", "state"), "rotabot")),
    auditKey:
      e.AUDIT_KEY_FILE !== undefined
        ? { file: expand(e.AUDIT_KEY_FILE), required: true }
        : credentials.directory !== undefined
          ? { file: path.join(credentials.directory, "audit_key"), required: false }
          : undefined,
    ...(botTokenProblem !== undefined ? { botTokenProblem } : {}),
    logLevel: e.LOG_LEVEL,
    confirmTimeoutMs: e.CONFIRM_TIMEOUT,
    approverIds: e.APPROVER_IDS ?? [],
    requireSecondApprover: e.REQUIRE_SECOND_APPROVER,
    chatMaxPerMinute: chatBudget,
    reminders:
      e.REMINDER_TIME === "off"
        ? undefined
        : {
            hour: Number(e.REMINDER_TIME.slice(0, 2)),
            minute: Number(e.REMINDER_TIME.slice(3)),
            timeZone: e.REMINDER_TIMEZONE,
          },
    shutdownGraceMs: e.SHUTDOWN_GRACE,
    crashAt: e.ROTABOT_CRASH_AT,
    readyFile: e.READY_FILE === undefined ? undefined : expand(e.READY_FILE),
    digestTopicId: e.DIGEST_TOPIC_ID,
    auditTopicId: e.AUDIT_TOPIC_ID,
    botToken: e.BOT_TOKEN,
    opsChatId: e.OPS_CHAT_ID,
    auditChatId: e.AUDIT_CHAT_ID ?? e.OPS_CHAT_ID,
    operatorIds: e.OPERATOR_IDS,
  };
}

/** What is wrong with BOT_TOKEN, naming the systemd credential when the token came from it; never the value. */
function tokenMessage(issue: string, tokenFile: string | undefined): string {
  return tokenFile === undefined
    ? issue
    : `the systemd credential ${tokenFile} does not look like a bot token (digits, a colon, 30+ letters): store the token from @BotFather in it again (docs/deploy.md, rotating rotabot's own token)`;
}

/** Old names still read, but no longer documented. */
const RETIRED_KEYS = new Set(["AUDIT_MAX_PER_MINUTE"]);

/**
 * Settings that systemd credentials supply when the environment does not: BOT_TOKEN from the
 * credential `bot_token`, VAULT_PASSWORD_FILE as the path of the credential `vault_password`
 * (ansible-vault reads the file itself). An unreadable credential is a problem, a missing one is not.
 */
function fromCredentials(
  env: Readonly<Record<string, string | undefined>>,
  present: Readonly<Record<string, string>>,
  readCredential: ReadCredential,
): {
  settings: Record<string, string>;
  tokenFile: string | undefined;
  problems: [string, string][];
  directory: string | undefined;
} {
  const directory = env.CREDENTIALS_DIRECTORY?.trim();
  if (!directory) return { settings: {}, tokenFile: undefined, problems: [], directory: undefined };
  const settings: Record<string, string> = {};
  const problems: [string, string][] = [];
  let tokenFile: string | undefined;
  if (!("BOT_TOKEN" in present)) {
    const token = readCredential(directory, "bot_token");
    if (token.ok && token.value.trim() !== "") {
      settings.BOT_TOKEN = token.value;
      tokenFile = token.file;
    } else if (token.ok) {
      problems.push([
        "BOT_TOKEN",
        `BOT_TOKEN: the systemd credential ${token.file} is empty: store the token from @BotFather in it (docs/deploy.md)`,
      ]);
    } else if (token.reason === "unreadable") {
      problems.push(["BOT_TOKEN", `BOT_TOKEN: ${token.message}`]);
    }
  }
  if (!("VAULT_PASSWORD_FILE" in present)) settings.VAULT_PASSWORD_FILE = path.join(directory, "vault_password");
  return { settings, tokenFile, problems, directory };
}

/** The environment variables rotabot reads, for docs and the .env.example check. */
export const CONFIG_KEYS = (Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[]).filter(
  (key) => key !== "ROTABOT_CRASH_AT" && !RETIRED_KEYS.has(key),
);
