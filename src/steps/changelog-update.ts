import { z } from "zod";
import { addChangelogEntry, changelogLine } from "../changelog/add-changelog-entry.js";
import { stepBase } from "../schema/fields.js";
import { describeExposure } from "../changelog/describe-exposure.js";
import { defineStep } from "./step-kind.js";

/** A CHANGELOG.md line under [Unreleased] / Security: key, rotation id, operator; never the value. */
export const changelogUpdateStep = defineStep(z.object({ ...stepBase, kind: z.literal("changelog_update") }).strict(), {
  phase: "epilogue",
  idempotent: true,
  scope: "once",
  changesServices: false,
  interaction: "automatic",
  describe: () => undefined,
  async execute(_step, run, deps) {
    const { key, id, initiator, compromise } = run.rotation;
    const exposure = describeExposure(run.rotation);
    const incident = compromise && `suspected compromise (${compromise.reason}), ${exposure}`;
    const line = changelogLine(key, id, initiator.name, deps.now().toISOString().slice(0, 10), incident);
    const added = await addChangelogEntry(deps.paths.changelogFile, line, deps.files);
    if (!added.ok) return { status: "failed", message: added.message };
    return added.added
      ? { status: "done", note: "CHANGELOG.md has the entry" }
      : { status: "skipped", note: "CHANGELOG.md already had the entry" };
  },
});
