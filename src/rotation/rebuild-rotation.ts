import type { Git } from "../git/create-git.js";
import type { Logger } from "../logging/create-logger.js";
import type { Redactor } from "../logging/redactor.js";
import { fail, type Result } from "../result.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import type { Vault } from "../vault/create-vault.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import type { Journal } from "./create-journal.js";
import type { SecretLocks } from "./create-secret-locks.js";
import type { Rotation } from "../model/rotation.js";
import { planSteps } from "./new-rotation.js";
import { REFUSALS } from "./prompts.js";
import { isTerminal } from "./queries.js";

export interface RebuildDeps {
  runbook: Runbook;
  locks: SecretLocks;
  vault: Vault;
  git: Git;
  redactor: Redactor;
  now: () => Date;
  self: { pid: number; host: string };
}

const DONE_BEFORE_NEW = new Set(["generate", "collect", "vault_add_new"]);

/**
 * A rotation whose journal is damaged, rebuilt from what the world shows, never from a guess: the
 * lock names the secret; a commit naming the rotation means it completed; `<key>_new` in the vault
 * means it got past "add to the vault" and every later step may or may not have run (interrupted:
 * a step that is not safe to repeat asks first), and if the procedure has a destructive step before
 * the rename it may have passed its point of no return, so abort is refused; an uncommitted vault
 * without `<key>_new` means the rename ran and only the completion checklist is left; otherwise
 * nothing was written yet.
 */
export async function rebuildRotation(
  id: string,
  problem: string,
  deps: RebuildDeps,
): Promise<Result<{ rotation: Rotation }, "not_found" | "refused">> {
  const locked = await deps.locks.keyOf(id);
  if (!locked) {
    return fail(
      "not_found",
      `the journal of rotation ${id} is damaged (${problem}) and no lock names it, so it ended or never started: move STATE_DIR/rotations/${id}.json aside`,
    );
  }
  const { key, holder } = locked;
  const procedure =
    deps.runbook.procedures.find((p) => p.secret === key) ??
    (deps.runbook.procedures.filter((p) => p.applies_to_category).length === 1
      ? deps.runbook.procedures.find((p) => p.applies_to_category)
      : undefined);
  if (!procedure) return fail("refused", `no procedure of the runbook rotates ${key}; finish rotation ${id} by hand`);
  const values = await readSecretValues(deps.vault, deps.redactor, key);
  if (!values.ok) return fail("refused", values.message);
  const steps = planSteps(deps.runbook, procedure);
  const now = deps.now().toISOString();
  const rotation: Rotation = {
    version: 2,
    id,
    key,
    procedureId: procedure.id,
    category: procedure.category,
    initiator: { id: "unknown", name: holder.initiator },
    environments: deps.runbook.environments.map((e) => e.name),
    state: "interrupted",
    steps,
    createdAt: holder.startedAt,
    updatedAt: now,
    message: `rebuilt from the vault and git after its journal was damaged (${problem})`,
  };
  const mark = (upTo: number, state: "done" | "interrupted", from = 0) => {
    for (const step of steps.slice(from, upTo)) {
      step.state = state;
      step.message =
        state === "done" ? "done (rebuilt from the vault)" : "may or may not have run (the journal was damaged)";
    }
  };
  const commit = await deps.git.commitMentioning(`Rotation ${id} `);
  if (commit) {
    mark(steps.length, "done");
    return { ok: true, rotation: { ...rotation, state: "completed", commit, endedAt: now } };
  }
  const promoteAt = steps.findIndex((s) => s.kind === "vault_promote");
  if (values.values.next !== undefined) {
    const afterNew = steps.findIndex((s) => !DONE_BEFORE_NEW.has(s.kind));
    mark(afterNew, "done");
    mark(steps.length, "interrupted", afterNew);
    const destructiveBefore = steps.slice(afterNew, promoteAt).find((s) => s.destructive);
    if (destructiveBefore) rotation.pointOfNoReturn = { stepId: destructiveBefore.id, at: now };
    return { ok: true, rotation };
  }
  const vaultChanged = (await deps.git.dirty([deps.runbook.files.vault])).length > 0;
  if (vaultChanged && promoteAt !== -1) {
    mark(promoteAt + 1, "done");
    rotation.pointOfNoReturn = { stepId: steps[promoteAt]!.id, at: now };
  }
  return { ok: true, rotation };
}

/**
 * For resume and abort of a rotation whose journal is damaged: rebuilds it, keeps the damaged
 * file aside for the post-mortem, journals the rebuilt record, and frees the lock of one that had
 * in fact completed.
 */
export async function restoreDamaged(
  id: string,
  deps: RebuildDeps & { journal: Journal; logger: Logger },
): Promise<Result<{ rotation: Rotation }, "not_found" | "refused">> {
  const found = await deps.journal.inspect(id);
  if (found.status !== "damaged") return fail("not_found", REFUSALS.notFound(id));
  const rebuilt = await rebuildRotation(id, found.problem, deps);
  if (!rebuilt.ok) return rebuilt;
  await deps.journal.setAside(id);
  await deps.journal.save(rebuilt.rotation);
  if (isTerminal(rebuilt.rotation)) await deps.locks.release(rebuilt.rotation.key, id);
  deps.logger.warn(
    { rotationId: id, problem: found.problem },
    "rebuilt a damaged rotation journal from the vault and git",
  );
  return rebuilt;
}
