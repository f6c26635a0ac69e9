import type { SelectsTasks } from "../ansible/create-selection-cache.js";
import { readChangelog } from "../changelog/add-changelog-entry.js";
import type { RunCommand } from "../exec/create-command-runner.js";
import type { Git } from "../git/create-git.js";
import type { Redactor } from "../logging/redactor.js";
import { fail, type Failure } from "../result.js";
import { playbookCommandsOf } from "../runbook/playbook-commands.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { parseDuration } from "../time/duration.js";
import type { Vault } from "../vault/create-vault.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import type { DeployMarker } from "./create-deploy-marker.js";
import { connectionFindings, inventoryFindings, ownTokenFinding, servicesOf } from "./check-estate.js";
import type { Journal } from "./create-journal.js";
import type { LockHolder, SecretLocks } from "./create-secret-locks.js";
import type { Rotation } from "../model/rotation.js";
import type { StartRequest } from "./new-rotation.js";
import { REFUSALS } from "./prompts.js";
import { currentStep, isTerminal } from "./queries.js";
import { endingIn } from "../steps/collect.js";

/** How long a lock may stand without its rotation's journal while its holder may still be writing it. */
const JOURNAL_GRACE_MS = 60_000;

/** Whether the holder of a lock without a journal is gone: its process on this host ended, or the lock is old. */
function holderGone(deps: Pick<CanStartDeps, "self" | "isAlive" | "now">, holder: LockHolder): boolean {
  if (holder.pid !== undefined && holder.host === deps.self.host && !deps.isAlive(holder.pid)) return true;
  const since = Date.parse(holder.startedAt);
  return Number.isNaN(since) || deps.now().getTime() - since > JOURNAL_GRACE_MS;
}

export interface CanStartDeps {
  runbook: Runbook;
  locks: SecretLocks;
  git: Git;
  vault: Vault;
  redactor: Redactor;
  runCommand: RunCommand;
  /** Whether an ansible-playbook argv selects a task (`--list-tasks`; remembered briefly, see prepare). */
  selectsTasks: SelectsTasks;
  load: (id: string) => Promise<Readonly<Rotation> | undefined>;
  inspect: Journal["inspect"];
  active: () => Promise<readonly Readonly<Rotation>[]>;
  changelogFile: string;
  /** The values of the placeholders that are no secret, to list what each playbook step would run. */
  placeholders: { vault_password_file: string; infra_dir: string; state_dir: string };
  /** This process and a liveness test, to tell a lock's crashed holder from one still starting. */
  self: { pid: number; host: string };
  isAlive: (pid: number) => boolean;
  now: () => Date;
  /** The deploy guard's marker, which a rotation in flight holds; undefined without a deploy guard. */
  deployMarker?: DeployMarker | undefined;
  /** rotabot's own BOT_TOKEN, when it has one: a rotation of that very token is refused. */
  ownToken?: string | undefined;
  /** The process's environment, under each environment's `env`: where the checks find their services and CAs. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * The rotation in flight that holds the vault (its claim, or the deploy marker rotabot writes), if
 * any: a start then waits for it, and is told which one, not that "a deploy" runs when the deploy
 * guard sees rotabot's own marker.
 */
async function rotationHoldingVault(
  deps: Pick<CanStartDeps, "locks" | "load" | "deployMarker">,
): Promise<Readonly<Rotation> | undefined> {
  const claim = await deps.locks.readVaultClaim();
  const marker = await deps.deployMarker?.holder();
  for (const id of [claim.state === "held" ? claim.holder.rotationId : undefined, marker?.rotationId]) {
    if (id === undefined) continue;
    const other = await deps.load(id);
    if (other && !isTerminal(other)) return other;
  }
  return undefined;
}

/**
 * Everything that must hold before a rotation starts: no other rotation of the secret, a clean
 * checkout, a usable vault, and no deploy running (unless an incident is declared). Reads both
 * values into the redactor; returns a `<key>_new` left by an earlier attempt, if any, and the last
 * 4 characters of the value in use (the revoke cards name the old credential by them).
 */
export async function checkCanStart(
  deps: CanStartDeps,
  request: StartRequest,
): Promise<{ ok: true; leftoverNew: string | undefined; oldEnding: string } | Failure<"refused">> {
  const { key } = request;
  const lock = await deps.locks.read(key);
  if (lock.state === "unreadable") return fail("refused", REFUSALS.unreadableLock(key, lock.file));
  if (lock.state === "held") {
    const { holder } = lock;
    const other = await deps.load(holder.rotationId);
    const inspected = other ? undefined : await deps.inspect(holder.rotationId);
    if (inspected?.status === "damaged") {
      return fail("refused", REFUSALS.damagedHolder(key, holder.rotationId, inspected.problem));
    }
    if (other && !isTerminal(other)) {
      const at = currentStep(other);
      return fail(
        "refused",
        `${key} is already being rotated by ${holder.initiator} since ${holder.startedAt} (rotation ${holder.rotationId}, ${other.state.replace("_", " ")} at "${at?.title ?? "the end"}"). Finish or abort that one first`,
      );
    }
    // A lock is written just before its rotation's journal: without one, it is stale only once its holder is gone.
    if (!other && !holderGone(deps, holder)) {
      return fail("refused", REFUSALS.lockedBy(key, holder.initiator, holder.rotationId));
    }
    await deps.locks.release(key, holder.rotationId);
  }
  const holding = await rotationHoldingVault(deps);
  if (holding) return fail("refused", REFUSALS.vaultInUseBy(holding));
  const files = [deps.runbook.files.vault, deps.runbook.files.manifest, deps.runbook.files.changelog];
  const dirty = (await deps.git.isRepository()) ? await deps.git.dirty(files) : [];
  if (dirty.length > 0) {
    const other = (await deps.active())[0];
    if (other) return fail("refused", REFUSALS.vaultInUseBy(other));
    return fail(
      "refused",
      `uncommitted changes in ${dirty.join(", ")} in INFRA_DIR: commit or stash them first, so the rotation's commit holds only the rotation`,
    );
  }
  // Built on at the end: a truncated CHANGELOG must be put back before anything is written.
  const changelog = await readChangelog(deps.changelogFile);
  if (!changelog.ok) return fail("refused", changelog.message);
  const password = await deps.vault.checkPasswordFile();
  if (!password.ok) return fail("refused", password.message);
  // Others could read the password that decrypts every secret: no rotation until that is fixed.
  if (password.warnings.length > 0) return fail("refused", `${password.warnings.join("; ")}, then start again`);
  const values = await readSecretValues(deps.vault, deps.redactor, key);
  if (!values.ok) return fail("refused", values.message);
  // Reading the vault taught the redactor every value in it: a reason that holds one is never stored.
  const reason = request.incident?.reason;
  if (reason !== undefined && deps.redactor.redact(reason) !== reason) {
    return fail(
      "refused",
      "the incident reason contains a secret value (one in the vault, or the bot's token), so it was neither stored nor sent: give the reason without it, and treat that secret as exposed",
    );
  }
  if (values.values.current === undefined) {
    return fail(
      "refused",
      `${key} is not in the vault (${deps.runbook.files.vault}), so there is nothing to rotate: add it with ansible-vault edit, or check the name in the manifest. Nothing was written`,
    );
  }
  const estate = await checkEstate(deps, request, values.values.current);
  if (!estate.ok) return estate;
  const selection = await checkPlaybooksSelectTasks(deps, request);
  if (!selection.ok) return selection;
  const guard = deps.runbook.deploy_guard;
  if (guard) {
    const result = await deps.runCommand({
      argv: guard.argv,
      ...(guard.env ? { env: guard.env } : {}),
      timeoutMs: parseDuration(guard.timeout) ?? 30_000,
    });
    if (!result.ok && !request.incident) {
      // The checks above take seconds: a rotation that started meanwhile holds the marker the guard saw.
      const racing = await rotationHoldingVault(deps);
      if (racing) return fail("refused", REFUSALS.vaultInUseBy(racing));
      return fail(
        "refused",
        `a deploy seems to be running (check "${guard.title}" failed: ${result.message}). The runbook says not to rotate during an active deploy: wait for it, or declare an incident with a reason if the deploy is the mitigation`,
      );
    }
  }
  return { ok: true, leftoverNew: values.values.next, oldEnding: endingIn(request.procedure, values.values.current) };
}

/**
 * What a real estate adds to the start checks (src/rotation/check-estate.ts, shared with doctor
 * and preflight): the secret is not rotabot's own token, every inventory beside the listed ones is
 * an environment of the runbook, and the connection settings of the services the procedure talks
 * to can be used. Every finding is named, each with its fix.
 */
async function checkEstate(
  deps: Pick<CanStartDeps, "runbook" | "placeholders" | "ownToken" | "env">,
  request: Pick<StartRequest, "procedure" | "key">,
  current: string,
): Promise<{ ok: true } | Failure<"refused">> {
  const own = ownTokenFinding(deps.ownToken, request.key, current);
  const findings = [
    ...(own ? [own] : []),
    ...(await inventoryFindings(deps.runbook, deps.placeholders.infra_dir)),
    ...(await connectionFindings(deps.runbook, deps.env, servicesOf([request.procedure]))),
  ];
  if (findings.length === 0) return { ok: true };
  return fail(
    "refused",
    `${findings.map((f) => `${f.detail} (fix: ${f.fix})`).join("; ")}. Nothing was written; rotabot doctor and rotabot preflight check these too`,
  );
}

/**
 * Every ansible-playbook command the rotation can run (its steps in every environment, the
 * epilogue, the rollback) must select a task: a `--tags` that matches none runs nothing and
 * exits 0, and a step would "succeed" having done nothing (`--list-tasks`, a few at a time).
 */
export async function checkPlaybooksSelectTasks(
  deps: Pick<CanStartDeps, "runbook" | "placeholders" | "selectsTasks">,
  request: Pick<StartRequest, "procedure" | "key">,
): Promise<{ ok: true } | Failure<"refused">> {
  const commands = playbookCommandsOf(deps.runbook, deps.placeholders, [
    { procedure: request.procedure, keys: [request.key] },
  ]);
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < commands.length; i = next++) {
      const listed = await deps.selectsTasks(commands[i]!.argv);
      if (!listed.ok) problems.push(`${commands[i]!.usedBy.join(", ")}: ${listed.message}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(3, commands.length) }, worker));
  if (problems.length === 0) return { ok: true };
  return fail(
    "refused",
    `a step of this rotation would run nothing, so nothing was started: ${problems.join("; ")}. rotabot doctor lists every playbook step`,
  );
}
