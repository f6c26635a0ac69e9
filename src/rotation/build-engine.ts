import { hostname } from "node:os";
import path from "node:path";
import { createNatsChecks } from "../builtins/nats-checks.js";
import { createPostgresChecks } from "../builtins/postgres-checks.js";
import { createTelegramChecks } from "../builtins/telegram-checks.js";
import type { Config } from "../config/parse-config.js";
import { allowedEnv } from "../exec/allowed-env.js";
import { createCommandRunner } from "../exec/create-command-runner.js";
import { createCrashPoints } from "../fs/crash-points.js";
import { createFileReplacer } from "../fs/replace-file.js";
import { createGit } from "../git/create-git.js";
import type { Logger } from "../logging/create-logger.js";
import type { Redactor } from "../logging/redactor.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { createAnsibleVaultCli } from "../vault/ansible-vault-cli.js";
import { createVault } from "../vault/create-vault.js";
import { createJournal } from "./create-journal.js";
import { createRotationEngine } from "./create-rotation-engine.js";
import { createSecretLocks } from "./create-secret-locks.js";

export interface BuildEngineDeps {
  config: Config & { infraDir: string };
  runbook: Runbook;
  logger: Logger;
  redactor: Redactor;
  env: Readonly<Record<string, string | undefined>>;
  now?: () => Date;
}

/** Wires the engine from configuration: one vault, one command runner, one journal per process. */
export function buildEngine({ config, runbook, logger, redactor, env, now = () => new Date() }: BuildEngineDeps) {
  const baseEnv = allowedEnv(env);
  const infra = (file: string) => path.join(config.infraDir, file);
  const files = createFileReplacer({
    stateDir: config.stateDir,
    targets: [infra(runbook.files.vault), infra(runbook.files.manifest), infra(runbook.files.changelog)],
    crash: createCrashPoints(config.crashAt),
  });
  const vault = createVault({
    vaultFile: infra(runbook.files.vault),
    passwordFile: config.vaultPasswordFile,
    cli: createAnsibleVaultCli({ passwordFile: config.vaultPasswordFile, env: baseEnv }),
    backupDir: path.join(config.stateDir, "vault-backups"),
    files,
    now,
  });
  const engine = createRotationEngine({
    runbook,
    vault,
    files,
    runCommand: createCommandRunner({ cwd: config.infraDir, baseEnv, redactor }),
    redactor,
    git: createGit({ cwd: config.infraDir, env: baseEnv }),
    postgres: createPostgresChecks(env),
    telegram: createTelegramChecks({ apiRoot: config.telegramApiRoot, alertChatId: config.auditChatId }),
    nats: createNatsChecks(env),
    paths: {
      infraDir: config.infraDir,
      stateDir: config.stateDir,
      vaultPasswordFile: config.vaultPasswordFile,
      manifestFile: infra(runbook.files.manifest),
      changelogFile: infra(runbook.files.changelog),
    },
    env,
    now,
    journal: createJournal(config.stateDir),
    locks: createSecretLocks(config.stateDir),
    logger,
    self: { pid: process.pid, host: hostname() },
    isAlive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
      }
    },
  });
  return { engine, vault };
}
