import { z } from "zod";
import { builtinCheckSchema } from "../checks/registry.js";
import { duration, stepBase } from "../schema/fields.js";
import { parseDuration } from "../time/duration.js";
import { sleep } from "../time/sleep.js";
import { runBuiltinCheck } from "./run-builtin-check.js";
import { defineStep } from "./step-kind.js";

/** Repeats a check until it passes (old connections drained) or the timeout ends. */
export const waitDrainStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("wait_drain"),
      check: builtinCheckSchema,
      timeout: duration.default("30m"),
      interval: duration.default("15s"),
    })
    .strict(),
  {
    phase: "procedure",
    idempotent: true,
    scope: "environment",
    changesServices: false,
    interaction: "automatic",
    describe: (step) => `built-in check: ${step.check.builtin}`,
    async execute(step, run, deps) {
      const deadline = Date.now() + (parseDuration(step.timeout) ?? 1_800_000);
      const interval = parseDuration(step.interval) ?? 15_000;
      for (;;) {
        const outcome = await runBuiltinCheck(step.check, run, deps);
        if (outcome.status !== "failed") return outcome;
        if (Date.now() + interval > deadline) {
          return {
            status: "failed",
            message: `still not drained after ${step.timeout}: ${outcome.message}. Retry to keep waiting, or Mark done if you drained them by hand`,
          };
        }
        if (await sleep(interval, run.signal)) return { status: "failed", message: "cancelled while waiting" };
      }
    },
  },
);
