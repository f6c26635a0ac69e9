import { z } from "zod";
import { stepBase } from "../schema/fields.js";
import { defineStep } from "./step-kind.js";

/** Removes the old value and renames `<key>_new` to `<key>` in one vault rewrite. */
export const vaultPromoteStep = defineStep(z.object({ ...stepBase, kind: z.literal("vault_promote") }).strict(), {
  phase: "procedure",
  idempotent: true,
  scope: "once",
  changesServices: false,
  interaction: "automatic",
  describe: () => undefined,
  async execute(_step, run, deps) {
    const key = run.rotation.key;
    const read = await run.values();
    if (!read.ok) return { status: "failed", message: read.message };
    // A crash after the (atomic) rename leaves no _new: the promote already happened.
    if (read.values.next === undefined && run.record.attempts > 1) {
      return { status: "done", note: `${key} already holds the new value` };
    }
    // Claimed at the first write already; taken here too for a rotation journaled before claims existed.
    const claim = await deps.claimVault(run.rotation);
    if (!claim.ok) return { status: "failed", message: claim.message };
    const promoted = await deps.vault.promote(key);
    return promoted.ok
      ? { status: "done", note: `${key} now holds the new value; the old one is gone from the vault` }
      : { status: "failed", message: promoted.message };
  },
});
