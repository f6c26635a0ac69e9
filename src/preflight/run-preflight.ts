import type { CheckServices } from "../checks/check-kind.js";
import type { CheckResult } from "../doctor/doctor-checks.js";
import type { RunCommand } from "../exec/create-command-runner.js";
import type { Redactor } from "../logging/redactor.js";
import { connectionFindings, inventoryFindings, ownTokenFinding, servicesOf } from "../rotation/check-estate.js";
import type { SecretLocks } from "../rotation/create-secret-locks.js";
import type { Rotation } from "../model/rotation.js";
import type { Procedure, Runbook } from "../runbook/runbook-schema.js";
import type { Vault } from "../vault/create-vault.js";
import { newKeyOf } from "../model/new-key.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import { rehearseConnections } from "./preflight-connections.js";
import { rehearseDeployGuard } from "./preflight-deploy-guard.js";
import { rehearse, rehearsedCommands } from "./preflight-playbooks.js";

type Env = Readonly<Record<string, string | undefined>>;

/** What a preflight reads; nothing here is given a way to write. */
export interface PreflightDeps {
  runbook: Runbook;
  infraDir: string;
  stateDir: string;
  vaultPasswordFile: string;
  /** Read only; decrypting teaches `redactor` every value in it before any command prints. */
  vault: Pick<Vault, "checkPasswordFile" | "read">;
  redactor: Redactor;
  /** Runs in the infra checkout, output redacted, no log files. */
  runCommand: RunCommand;
  services: CheckServices;
  env: Env;
  ownToken?: string | undefined;
  telegramApiRoot: string;
  locks: Pick<SecretLocks, "read">;
  /** The rotations in flight, from their journals (read only). */
  active: () => Promise<readonly Readonly<Rotation>[]>;
  /** doctor's Telegram checks (the bot, its chats and its rights there), when a token is configured. */
  chatChecks?: (() => Promise<CheckResult[]>) | undefined;
  /** Each verdict as it comes, with the redacted diff of a playbook rehearsal. */
  onResult?: (result: CheckResult, diff: readonly string[]) => void;
  signal?: AbortSignal;
}

export interface PreflightRequest {
  procedure: Procedure;
  key: string;
  /** Only this environment's steps and services; every environment when undefined. */
  environment?: string | undefined;
}

/**
 * What `<key>_new` holds in a rehearsal: no secret, and saying so wherever a diff shows it (a
 * rehearsal never generates or collects a value; the vault is not touched).
 */
export const PLACEHOLDER = "rotabot-preflight-placeholder-not-a-secret";

const fail = (check: string, detail: string, fix: string): CheckResult => ({ check, status: "fail", detail, fix });

/**
 * `rotabot preflight`: a rehearsal of one rotation on the real estate that changes nothing. Every
 * refusal the start checks make (rotabot's own token, unlisted inventories, connection settings,
 * the vault, a rotation in flight, uncommitted files, a deploy running), the deploy guard and
 * whether it is wired, the procedure's services reached with the current credential, the bot's
 * chats and rights, and every ansible-playbook step run with `--check --diff` against its
 * environment's inventory (values redacted). One verdict per step; nothing is written to the infra
 * checkout, STATE_DIR or the services.
 */
export async function runPreflight(deps: PreflightDeps, request: PreflightRequest): Promise<CheckResult[]> {
  const { runbook, procedure, key } = { ...deps, ...request };
  const results: CheckResult[] = [];
  const say = (result: CheckResult, diff: readonly string[] = []) => {
    results.push(result);
    deps.onResult?.(result, diff);
  };
  const environments = runbook.environments.filter(
    (e) => request.environment === undefined || e.name === request.environment,
  );
  say({
    check: "procedure",
    status: "ok",
    detail: `${procedure.title} for ${key}, in ${environments.map((e) => e.name).join(" → ")}: a rehearsal that changes nothing`,
  });

  const password = await deps.vault.checkPasswordFile();
  if (!password.ok) say(fail("vault password file", password.message, "create it with the vault password, mode 0600"));
  else if (password.warnings.length > 0)
    say(fail("vault password file", password.warnings.join("; "), "chmod 600 the file"));
  else say({ check: "vault password file", status: "ok", detail: "present, readable only by its owner" });
  const values = await readSecretValues(deps.vault as Vault, deps.redactor, key);
  const current = values.ok ? values.values.current : undefined;
  if (!values.ok) say(fail("vault", values.message, "a rotation would be refused: fix the vault first"));
  else if (current === undefined)
    say(
      fail(
        `secret ${key}`,
        `${key} is not in the vault, so there is nothing to rotate`,
        "add it with ansible-vault edit, or check the name in the manifest",
      ),
    );
  else {
    say({ check: `secret ${key}`, status: "ok", detail: `in the vault (ends in …${current.slice(-4)})` });
    if (values.values.next !== undefined)
      say({
        check: `secret ${newKeyOf(key)}`,
        status: "warn",
        detail: `${newKeyOf(key)} is in the vault from an earlier attempt`,
        fix: "the rotation will ask whether to reuse or replace it; or resume or abort the rotation that left it (rotabot status)",
      });
  }

  const own = current === undefined ? undefined : ownTokenFinding(deps.ownToken, key, current);
  const estate = [
    ...(own ? [own] : []),
    ...(await inventoryFindings(runbook, deps.infraDir)),
    ...(await connectionFindings(runbook, deps.env, servicesOf([procedure]))),
  ];
  for (const f of estate) say(fail(f.check, f.detail, f.fix));
  if (estate.length === 0)
    say({
      check: "estate",
      status: "ok",
      detail: "not rotabot's own token; every inventory is an environment; the connection settings are usable",
    });

  const lock = await deps.locks.read(key);
  const other = (await deps.active()).find((r) => r.key === key);
  if (lock.state === "unreadable")
    say(fail(`lock ${key}`, `the lock file ${lock.file} cannot be read`, "check rotabot status, then remove it"));
  else if (lock.state === "held" || other)
    say(
      fail(
        `lock ${key}`,
        `${key} is being rotated now (rotation ${other?.id ?? (lock.state === "held" ? lock.holder.rotationId : "?")})`,
        "finish or abort that rotation first (rotabot status)",
      ),
    );
  const dirtyLines: string[] = [];
  const status = await deps.runCommand({
    argv: ["git", "status", "--porcelain", "--", runbook.files.vault, runbook.files.manifest, runbook.files.changelog],
    env: { GIT_OPTIONAL_LOCKS: "0" },
    timeoutMs: 30_000,
    onLine: (line) => dirtyLines.push(line),
  });
  // The runner's first line is the command itself ("$ git status ...").
  const dirty = dirtyLines.filter((l) => l !== "" && !l.startsWith("$ ")).map((l) => l.slice(3));
  if (status.ok && dirty.length > 0)
    say(
      fail(
        "infra checkout",
        `uncommitted changes in ${dirty.join(", ")}`,
        "commit or stash them: a rotation's commit must hold only the rotation",
      ),
    );
  else if (status.ok)
    say({ check: "infra checkout", status: "ok", detail: "the vault, manifest and CHANGELOG are committed" });

  for (const result of await rehearseDeployGuard(runbook, deps.runCommand)) say(result);

  if (current !== undefined)
    for (const result of await rehearseConnections({
      procedure,
      current,
      environments,
      processEnv: deps.env,
      services: deps.services,
      telegramApiRoot: deps.telegramApiRoot,
    }))
      say(result);

  if (deps.chatChecks) for (const result of await deps.chatChecks()) say(result);
  else
    say({
      check: "telegram",
      status: "warn",
      detail: "the bot's chats and rights not checked: BOT_TOKEN and OPS_CHAT_ID are not set",
      fix: "set them to check the bot and its chats",
    });

  const commands = rehearsedCommands(runbook, procedure, key, environments, {
    vault_password_file: deps.vaultPasswordFile,
    infra_dir: deps.infraDir,
    state_dir: deps.stateDir,
  });
  for (const command of commands) {
    if (deps.signal?.aborted) break;
    const { result, diff } = await rehearse(
      command,
      key,
      { runCommand: deps.runCommand, ...(deps.signal ? { signal: deps.signal } : {}) },
      PLACEHOLDER,
    );
    say(result, diff);
  }
  return results;
}
