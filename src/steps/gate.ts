import { z } from "zod";
import { stepBase, text } from "../schema/fields.js";
import { defineStep } from "./step-kind.js";

/**
 * Between two environments: the operator (and, with the two-person rule, an approver) confirms
 * the rollout to the next one. rotabot adds gates itself; the runbook never lists them.
 */
export const gateStep = defineStep(
  z.object({ ...stepBase, kind: z.literal("gate"), from: text, to: text, smoke_tested: z.boolean() }).strict(),
  {
    phase: "procedure",
    idempotent: true,
    scope: "environment",
    changesServices: false,
    interaction: "gate",
    prompt: (step) =>
      `${step.from} is on the new value${step.smoke_tested ? " and its smoke test passed" : ""}. Roll out to ${step.to}?`,
    describe: (step) => `confirm the rollout from ${step.from} to ${step.to}`,
    execute: () => Promise.resolve({ status: "done" }),
  },
);
