import { z } from "zod";
import { commandFields, stepBase } from "../schema/fields.js";
import { runCommandStep } from "./run-command.js";
import { defineStep } from "./step-kind.js";

/** A command (usually ansible-playbook) that must exit 0. */
export const runStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("run"),
      ...commandFields,
      /** An epilogue check (the smoke test) that also runs in each environment before the gate into the next one. */
      before_each_gate: z.boolean().default(false),
    })
    .strict(),
  {
    phase: "both",
    idempotent: false,
    scope: "environment",
    changesServices: true,
    interaction: "automatic",
    describe: (step) => step.argv.join(" "),
    commands: (step) => [step.argv],
    execute: (step, run, deps) => runCommandStep(step, run, deps),
  },
);
