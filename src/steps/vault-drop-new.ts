import { z } from "zod";
import { stepBase } from "../schema/fields.js";
import { newKeyOf } from "../model/new-key.js";
import { defineStep } from "./step-kind.js";

/**
 * A rollback step: removes `<key>_new` from the vault, so that re-deploys render the canonical
 * (old) value again. Where a rollback does not list it, it runs first.
 */
export const vaultDropNewStep = defineStep(z.object({ ...stepBase, kind: z.literal("vault_drop_new") }).strict(), {
  phase: "procedure",
  idempotent: true,
  scope: "once",
  changesServices: false,
  interaction: "automatic",
  describe: (step) => `remove ${step.id === "vault_drop_new" ? "<key>_new" : "the new value"} from the vault`,
  async execute(_step, run, deps) {
    const dropped = await deps.vault.dropNew(run.rotation.key);
    if (!dropped.ok) return { status: "failed", message: dropped.message };
    // Nothing written (no backup): there was no `<key>_new`, and no message may say it was removed.
    return dropped.backup === undefined
      ? { status: "skipped", note: `${newKeyOf(run.rotation.key)} was not in the vault` }
      : { status: "done", note: `${newKeyOf(run.rotation.key)} is no longer in the vault` };
  },
});
