import { z } from "zod";
import { setLastRotation } from "../manifest/update-manifest.js";
import { stepBase } from "../schema/fields.js";
import { defineStep } from "./step-kind.js";

/** Sets the manifest's `last_rotation` to today (comments and other entries kept). */
export const manifestUpdateStep = defineStep(z.object({ ...stepBase, kind: z.literal("manifest_update") }).strict(), {
  phase: "epilogue",
  idempotent: true,
  scope: "once",
  changesServices: false,
  interaction: "automatic",
  describe: () => undefined,
  async execute(_step, run, deps) {
    const date = deps.now().toISOString().slice(0, 10);
    const { key, category } = run.rotation;
    const updated = await setLastRotation(deps.paths.manifestFile, key, date, category, deps.files);
    return updated.ok
      ? { status: "done", note: `last_rotation of ${key} is ${date}${updated.added ? " (entry added)" : ""}` }
      : { status: "failed", message: updated.message };
  },
});
