import { z } from "zod";
import { postgresTarget } from "../checks/postgres.js";
import { stepBase } from "../schema/fields.js";
import { newKeyOf } from "../model/new-key.js";
import { defineStep } from "./step-kind.js";

/** `ALTER ROLE ... PASSWORD '<SCRAM-SHA-256 verifier>'`: the plaintext never reaches the server or its logs. */
export const postgresSetPasswordStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("postgres_set_password"),
      ...postgresTarget,
      /** `new` rolls the role out to `<key>_new`; `current` puts it back on the canonical value (a rollback). */
      password: z.enum(["new", "current"]).default("new"),
      /** Then end the role's other sessions, all opened with the old password (the compromise order). */
      end_old_sessions: z.boolean().default(false),
    })
    .strict(),
  {
    phase: "procedure",
    idempotent: false,
    scope: "environment",
    changesServices: true,
    interaction: "automatic",
    describe: (step) =>
      `ALTER ROLE ${step.role} PASSWORD '<SCRAM-SHA-256 verifier of the ${step.password === "new" ? "new" : "canonical"} password>'${step.end_old_sessions ? `, then end every other ${step.role} session (pg_terminate_backend)` : ""}`,
    async execute(step, run, deps) {
      const read = await run.values();
      if (!read.ok) return { status: "failed", message: read.message };
      const { current, next } = read.values;
      if (current === undefined || next === undefined) {
        // Rolling back after <key>_new is gone: the role already has (or must get) the canonical value.
        if (step.password === "current" && current !== undefined) {
          const login = await deps.services.postgres.login(step, current, run.environment?.env);
          if (login.ok) return { status: "done", note: `${step.role} already accepts the canonical password` };
        }
        return {
          status: "failed",
          message: `${run.rotation.key} and ${newKeyOf(run.rotation.key)} must both be in the vault`,
        };
      }
      const [from, to] = step.password === "new" ? [current, next] : [next, current];
      const outcome = await deps.services.postgres.setPassword(
        step,
        from,
        to,
        run.environment?.env,
        step.end_old_sessions && step.password === "new",
      );
      run.onLine(outcome.ok ? outcome.note : outcome.message);
      return outcome.ok ? { status: "done", note: outcome.note } : { status: "failed", message: outcome.message };
    },
  },
);
