import { z } from "zod";
import { stepBase } from "../schema/fields.js";
import { newKeyOf } from "../model/new-key.js";
import { defineStep } from "./step-kind.js";

/** Confirms that `<key>_new` is in the vault (generate and collect wrote it there). */
export const vaultAddNewStep = defineStep(z.object({ ...stepBase, kind: z.literal("vault_add_new") }).strict(), {
  phase: "procedure",
  idempotent: true,
  scope: "once",
  changesServices: false,
  interaction: "automatic",
  describe: () => undefined,
  async execute(_step, run) {
    const key = run.rotation.key;
    const read = await run.values();
    if (!read.ok) return { status: "failed", message: read.message };
    if (read.values.next === undefined) {
      return {
        status: "failed",
        message: `${newKeyOf(key)} is not in the vault; the previous step should have put it there. Retry that step, or add it with ansible-vault edit`,
      };
    }
    // A collected value's ending is the credential's own (a DSN's key, not its project id).
    const ending = run.rotation.endings?.new ?? read.values.next.slice(-4);
    return { status: "done", note: `${newKeyOf(key)} is in the vault (ends in …${ending})` };
  },
});
