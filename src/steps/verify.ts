import { z } from "zod";
import { builtinCheckSchema } from "../checks/registry.js";
import { argvSchema, commandFields, stepBase } from "../schema/fields.js";
import { runBuiltinCheck } from "./run-builtin-check.js";
import { runCommandStep } from "./run-command.js";
import { defineStep } from "./step-kind.js";

/** A command that must exit 0, or a built-in check. */
export const verifyStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("verify"),
      ...commandFields,
      argv: argvSchema.optional(),
      check: builtinCheckSchema.optional(),
    })
    .strict()
    .refine((step) => (step.argv === undefined) !== (step.check === undefined), {
      message: "a verify step has exactly one of `argv` (a command that must exit 0) or `check` (a built-in check)",
    }),
  {
    phase: "procedure",
    idempotent: true,
    scope: "environment",
    changesServices: false,
    interaction: "automatic",
    describe: (step) =>
      step.argv ? step.argv.join(" ") : step.check ? `built-in check: ${step.check.builtin}` : undefined,
    commands: (step) => (step.argv ? [step.argv] : []),
    execute(step, run, deps) {
      if (step.check) return runBuiltinCheck(step.check, run, deps);
      if (step.argv) return runCommandStep({ ...step, argv: step.argv }, run, deps);
      return Promise.resolve({
        status: "failed",
        message: "this verify step has neither argv nor check; fix the runbook",
      });
    },
  },
);
