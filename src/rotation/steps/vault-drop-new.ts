import { z } from "zod";
import { stepBase } from "../../schema/fields.js";
import { newKeyOf } from "../../vault/create-vault.js";
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
    return dropped.ok
      ? { status: "done", note: `${newKeyOf(run.rotation.key)} is no longer in the vault` }
      : { status: "failed", message: dropped.message };
  },
});
