import { z } from "zod";
import { argvSchema, stepBase } from "../schema/fields.js";
import { sleep } from "../time/sleep.js";
import { runCommandStep } from "./run-command.js";
import { defineStep } from "./step-kind.js";

/** Tests the NATS config, reloads, and confirms on /varz that the server loaded it (a bad reload exits 0). */
export const natsReloadStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("nats_reload"),
      config_test: argvSchema,
      reload: argvSchema,
      monitor_url: z.string().url().optional(),
    })
    .strict(),
  {
    phase: "procedure",
    idempotent: true,
    scope: "environment",
    changesServices: true,
    interaction: "automatic",
    describe: (step) => `${step.config_test.join(" ")} && ${step.reload.join(" ")}`,
    commands: (step) => [step.config_test, step.reload],
    async execute(step, run, deps) {
      const monitor =
        step.monitor_url ??
        run.environment?.env.NATS_MONITOR_URL ??
        deps.env.NATS_MONITOR_URL ??
        "http://127.0.0.1:8222";
      const test = await runCommandStep({ argv: step.config_test, timeout: "2m" }, run, deps);
      if (test.status === "failed") {
        return {
          status: "failed",
          message: `the new NATS config does not validate, so NATS was not reloaded: ${test.message}`,
        };
      }
      // Over https the monitor is trusted as the NATS client is: the environment's NATS_CA.
      const env = run.environment?.env;
      const before = await deps.services.nats.configLoadTime(monitor, env);
      const reload = await runCommandStep({ argv: step.reload, timeout: "2m" }, run, deps);
      if (reload.status === "failed") return reload;
      let answered = before !== undefined;
      for (let i = 0; i < 50; i++) {
        const after = await deps.services.nats.configLoadTime(monitor, env);
        answered ||= after !== undefined;
        if (after !== undefined && after !== before) {
          return { status: "done", note: `NATS reloaded its config (config_load_time ${after})` };
        }
        if (await sleep(200, run.signal)) break;
      }
      if (!answered)
        return {
          status: "failed",
          message: `the reload command exited 0, but NATS's monitoring endpoint ${monitor}/varz never answered, so the reload cannot be confirmed: check NATS_MONITOR_URL (and NATS_CA, when it is https with a private CA), then Retry`,
        };
      return {
        status: "failed",
        message: `the reload command exited 0 but NATS (${monitor}/varz) shows no new config_load_time: check the nats-server log for "Failed to reload"`,
      };
    },
  },
);
