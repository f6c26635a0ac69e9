import { z } from "zod";
import { builtinCheckSchema } from "../checks/registry.js";
import { stepBase, text } from "../schema/fields.js";
import { runBuiltinCheck } from "./run-builtin-check.js";
import { defineStep } from "./step-kind.js";

/** Something only a person can do (revoke in a dashboard); an optional check proves it after Done. */
export const manualStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("manual"),
      instruction: text,
      check: builtinCheckSchema.optional(),
      /** The Done button's own words, where they say more ("I revoked it"); at most 40 characters. */
      done_label: text.pipe(z.string().max(40, "a button label has at most 40 characters")).optional(),
    })
    .strict(),
  {
    phase: "procedure",
    idempotent: false,
    scope: "once",
    changesServices: false,
    interaction: "manual",
    prompt: (step) => step.instruction,
    describe: (step) => (step.check ? `built-in check: ${step.check.builtin}` : undefined),
    execute(step, run, deps) {
      if (step.check) return runBuiltinCheck(step.check, run, deps);
      return Promise.resolve({ status: "done", note: `done, says ${run.record.confirmedBy?.name ?? "the operator"}` });
    },
  },
);
