import { z } from "zod";
import { commandFields, stepBase } from "../../schema/fields.js";
import { runCommandStep } from "./run-command.js";
import { defineStep } from "./step-kind.js";

/** A command (usually ansible-playbook) that must exit 0. */
export const runStep = defineStep(z.object({ ...stepBase, kind: z.literal("run"), ...commandFields }).strict(), {
  phase: "both",
  idempotent: false,
  interaction: "automatic",
  describe: (step) => step.argv.join(" "),
  execute: (step, run, deps) => runCommandStep(step, run, deps),
});
