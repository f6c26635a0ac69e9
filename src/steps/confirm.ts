import { z } from "zod";
import { stepBase, text } from "../schema/fields.js";
import { defineStep } from "./step-kind.js";

/** A question the operator must answer before the rotation goes on (a maintenance window, a policy reason). */
export const confirmStep = defineStep(z.object({ ...stepBase, kind: z.literal("confirm"), message: text }).strict(), {
  phase: "procedure",
  idempotent: false,
  scope: "once",
  changesServices: false,
  interaction: "confirm",
  prompt: (step) => step.message,
  describe: () => undefined,
  execute: () => Promise.resolve({ status: "done" }),
});
