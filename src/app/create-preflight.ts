import { existsSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config/parse-config.js";
import { runTelegramChecks } from "../doctor/telegram-checks.js";
import { allowedEnv } from "../exec/allowed-env.js";
import { createCommandRunner } from "../exec/create-command-runner.js";
import type { Redactor } from "../logging/redactor.js";
import { runPreflight, type PreflightDeps, type PreflightRequest } from "../preflight/run-preflight.js";
import { createJournal } from "../rotation/create-journal.js";
import { createSecretLocks } from "../rotation/create-secret-locks.js";
import { isTerminal } from "../rotation/queries.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { createNatsChecks } from "../services/nats.js";
import { createPostgresChecks } from "../services/postgres.js";
import { createTelegramChecks } from "../services/telegram-bot.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `rotabot preflight` wired for the shell and the bot alike: commands run in the infra checkout
 * with rotabot's allowlisted environment and no log file, values redacted; STATE_DIR's locks and
 * journals are only read (and not even created when missing), so a preflight writes nothing.
 */
export function createPreflight({
  config,
  runbook,
  env,
  redactor,
  vault,
}: {
  config: Config & { infraDir: string };
  runbook: Runbook;
  env: Env;
  redactor: Redactor;
  vault: PreflightDeps["vault"];
}) {
  const { infraDir, stateDir } = config;
  const exists = (folder: string) => existsSync(path.join(stateDir, folder));
  const deps: PreflightDeps = {
    runbook,
    infraDir,
    stateDir,
    vaultPasswordFile: config.vaultPasswordFile,
    vault,
    redactor,
    runCommand: createCommandRunner({ cwd: infraDir, baseEnv: { ...allowedEnv(env), ANSIBLE_NOCOLOR: "1" }, redactor }),
    services: {
      postgres: createPostgresChecks(env),
      nats: createNatsChecks(env),
      telegram: createTelegramChecks({ apiRoot: config.telegramApiRoot, alertChatId: config.auditChatId }),
    },
    env,
    ownToken: config.botToken,
    telegramApiRoot: config.telegramApiRoot,
    locks: {
      read: (key) => (exists("locks") ? createSecretLocks(stateDir).read(key) : Promise.resolve({ state: "free" })),
    },
    active: async () =>
      exists("rotations") ? (await createJournal(stateDir).list()).filter((r) => !isTerminal(r)) : [],
    chatChecks:
      config.botToken && config.opsChatId !== undefined
        ? () =>
            runTelegramChecks({
              apiRoot: config.telegramApiRoot,
              token: config.botToken!,
              opsChatId: config.opsChatId!,
              auditChatId: config.auditChatId ?? config.opsChatId!,
            })
        : undefined,
  };
  return (request: PreflightRequest & Pick<PreflightDeps, "onResult" | "signal">) =>
    runPreflight(
      {
        ...deps,
        ...(request.onResult ? { onResult: request.onResult } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      },
      request,
    );
}
export type Preflight = ReturnType<typeof createPreflight>;
