import { z } from "zod";
import { postgresTarget } from "../../checks/postgres.js";
import { stepBase } from "../../schema/fields.js";
import { newKeyOf } from "../../vault/create-vault.js";
import { defineStep } from "./step-kind.js";

/** `ALTER ROLE ... PASSWORD '<SCRAM-SHA-256 verifier>'`: the plaintext never reaches the server or its logs. */
export const postgresSetPasswordStep = defineStep(
  z.object({ ...stepBase, kind: z.literal("postgres_set_password"), ...postgresTarget }).strict(),
  {
    phase: "procedure",
    idempotent: false,
    interaction: "automatic",
    describe: (step) => `ALTER ROLE ${step.role} PASSWORD '<SCRAM-SHA-256 verifier>'`,
    async execute(step, run, deps) {
      const read = await run.values();
      if (!read.ok) return { status: "failed", message: read.message };
      const { current, next } = read.values;
      if (current === undefined || next === undefined) {
        return {
          status: "failed",
          message: `${run.rotation.key} and ${newKeyOf(run.rotation.key)} must both be in the vault`,
        };
      }
      const outcome = await deps.services.postgres.setPassword(step, current, next);
      run.onLine(outcome.ok ? outcome.note : outcome.message);
      return outcome.ok ? { status: "done", note: outcome.note } : { status: "failed", message: outcome.message };
    },
  },
);
