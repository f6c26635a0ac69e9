import type { NatsChecks } from "../builtins/nats-checks.js";
import type { PostgresChecks } from "../builtins/postgres-checks.js";
import type { TelegramChecks } from "../builtins/telegram-checks.js";
import type { RunCommand } from "../exec/create-command-runner.js";
import type { FileReplacer } from "../fs/replace-file.js";
import type { Git } from "../git/create-git.js";
import type { Redactor } from "../logging/redactor.js";
import type { EpilogueStep, Procedure, Runbook, Step } from "../runbook/runbook-schema.js";
import type { Vault } from "../vault/create-vault.js";
import type { Rotation, StepRecord } from "./rotation-model.js";

/** Everything step executors may use; built once per engine. */
export interface StepDeps {
  runbook: Runbook;
  vault: Vault;
  /** Atomic replacement of the infra files, and the sweep of temp files a crash left. */
  files: FileReplacer;
  runCommand: RunCommand;
  redactor: Redactor;
  git: Git;
  postgres: PostgresChecks;
  telegram: TelegramChecks;
  nats: NatsChecks;
  paths: { infraDir: string; stateDir: string; vaultPasswordFile: string; manifestFile: string; changelogFile: string };
  /** Where built-ins find defaults such as PGHOST or NATS_URL. */
  env: Readonly<Record<string, string | undefined>>;
  now: () => Date;
}

/** One step's run. */
export interface StepRun {
  rotation: Rotation;
  record: StepRecord;
  step: Step | EpilogueStep;
  procedure: Procedure;
  signal: AbortSignal;
  onLine: (line: string) => void;
  logFile: string;
}

export type StepOutcome = { status: "done" | "skipped"; note?: string } | { status: "failed"; message: string };
