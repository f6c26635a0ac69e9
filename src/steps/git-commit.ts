import { z } from "zod";
import { stepBase } from "../schema/fields.js";
import { defineStep } from "./step-kind.js";

/** Commits the vault, manifest and CHANGELOG (and pushes when the runbook says so). */
export const gitCommitStep = defineStep(
  z.object({ ...stepBase, kind: z.literal("git_commit"), push: z.boolean().default(false) }).strict(),
  {
    phase: "epilogue",
    idempotent: true,
    scope: "once",
    changesServices: false,
    interaction: "automatic",
    describe: (step) => `git commit${step.push ? " && git push" : ""}`,
    async execute(step, run, deps) {
      if (!(await deps.git.isRepository())) return { status: "skipped", note: "INFRA_DIR is not a git checkout" };
      const { key, id, initiator, incident } = run.rotation;
      const message = `Rotate ${key}\n\nRotation ${id} by ${initiator.name}${incident ? ` (incident: ${incident.reason})` : ""}.`;
      const committed = await deps.git.commit(deps.paths.commitFiles, deps.redactor.redact(message));
      if (!committed.ok) return { status: "failed", message: committed.message };
      if (step.push && committed.commit) {
        const pushed = await deps.git.push();
        if (!pushed.ok) return { status: "failed", message: pushed.message };
      }
      // Deploys from the remote still render the old (soon revoked) value until someone pushes: say so.
      const pushNote = step.push ? ", pushed" : "; not pushed (the runbook's git_commit has push: false): push it";
      return committed.commit
        ? { status: "done", note: `commit ${committed.commit}${pushNote}`, commit: committed.commit }
        : { status: "skipped", note: "nothing to commit" };
    },
  },
);
