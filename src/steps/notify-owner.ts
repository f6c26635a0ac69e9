import { z } from "zod";
import { stepBase } from "../schema/fields.js";
import { defineStep } from "./step-kind.js";

/** The seed's "Relevant service owner notified": the front ends name the manifest's owner. */
export const notifyOwnerStep = defineStep(z.object({ ...stepBase, kind: z.literal("notify_owner") }).strict(), {
  phase: "epilogue",
  idempotent: true,
  scope: "once",
  changesServices: false,
  interaction: "automatic",
  describe: () => undefined,
  execute: () => Promise.resolve({ status: "done", note: "owner notification handed to the front end" }),
});
