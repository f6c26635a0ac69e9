import type { z } from "zod";
import type { SelectsTasks } from "../ansible/create-selection-cache.js";
import type { CheckServices } from "../checks/check-kind.js";
import type { RunCommand } from "../exec/create-command-runner.js";
import type { FileReplacer } from "../fs/replace-file.js";
import type { Git } from "../git/create-git.js";
import type { Redactor } from "../logging/redactor.js";
import type { Vault } from "../vault/create-vault.js";
import type { SecretValues } from "../vault/read-secret-values.js";
import type { Interaction, Rotation, StepOutcome, StepRecord } from "../model/rotation.js";

/** Everything step executors may use; built once per engine. */
export interface StepDeps {
  vault: Vault;
  /** Atomic replacement of the infra files, and the sweep of temp files a crash left. */
  files: FileReplacer;
  runCommand: RunCommand;
  /**
   * What an ansible-playbook argv selects (`--list-tasks`, remembered a while): after a run under
   * `--tags`, which of the tasks that ran were there only because they are tagged `always`.
   */
  selectsTasks?: SelectsTasks;
  redactor: Redactor;
  git: Git;
  services: CheckServices;
  paths: {
    infraDir: string;
    stateDir: string;
    vaultPasswordFile: string;
    manifestFile: string;
    changelogFile: string;
    /** The vault, manifest and CHANGELOG, relative to INFRA_DIR: what a rotation commits. */
    commitFiles: readonly string[];
  };
  /**
   * Takes the vault's claim for a rotation before it writes the vault (again for the same
   * rotation: fine); refused while another rotation that changed the vault is in flight.
   */
  claimVault(
    rotation: Pick<Rotation, "id" | "initiator" | "incident">,
  ): Promise<{ ok: true } | { ok: false; message: string }>;
  /** Where built-ins find defaults such as PGHOST or NATS_URL. */
  env: Readonly<Record<string, string | undefined>>;
  now: () => Date;
}

/** An environment of the runbook: where per-environment steps run. */
export interface EnvironmentTarget {
  name: string;
  inventory: string;
  limit?: string | undefined;
  /** Variables for commands and built-in checks there (PGHOST, NATS_URL, ...). */
  env: Readonly<Record<string, string>>;
}

/** One run of one step. */
export interface StepRun {
  rotation: Readonly<Rotation>;
  record: Readonly<StepRecord>;
  /** Where it runs; undefined for steps that run once. */
  environment: EnvironmentTarget | undefined;
  signal: AbortSignal;
  /** Each output line, already redacted. */
  onLine: (line: string) => void;
  /** A command of the step started, as this process group (journaled, for crash recovery). */
  onProcess?: (pgid: number) => void;
  logFile: string;
  /** Both values of the secret, registered for redaction before anyone can print them; `promoted` once the rename ran. */
  values(): Promise<{ ok: true; values: SecretValues & { promoted: boolean } } | { ok: false; message: string }>;
}

/** Everything about one step kind: where it may stand, whether it may run twice, how it asks, runs and shows. */
export interface StepKind<S> {
  /** The runbook part it may appear in. */
  phase: "procedure" | "epilogue" | "both";
  /** Safe to run again after an interruption, unless the runbook says otherwise. */
  idempotent: boolean;
  /** Once per rotation, or once in each environment, unless the runbook says otherwise. */
  scope: "environment" | "once";
  /** It changes what services run (a deploy, a reload, a password): an abort must put it back. */
  changesServices: boolean;
  interaction: Interaction;
  /** What the operator is asked (collect, confirm and manual steps). */
  prompt?(step: S): string;
  /** The plan's detail line: the command it runs or what it does; never a value. */
  describe(step: S): string | undefined;
  /**
   * The argv of each command it runs, placeholders unexpanded: doctor looks for their programs
   * and the tag check lists their playbooks. Left out by a kind that runs no command of the runbook.
   */
  commands?(step: S): readonly (readonly string[])[];
  /** Runs the step (for operator steps: after the operator answered). */
  execute(step: S, run: StepRun, deps: StepDeps): Promise<StepOutcome>;
}

/** Ties a step kind's schema to its behaviour; a kind without `execute` or `describe` does not type-check. */
export function defineStep<S extends z.ZodType<{ kind: string }>>(
  schema: S,
  kind: StepKind<z.output<S>>,
): StepKind<z.output<S>> & { schema: S } {
  return { schema, ...kind };
}
