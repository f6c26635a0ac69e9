import { describe, expect, it } from "vitest";
import type { Rotation } from "../../../src/rotation/model.js";
import { rollBack } from "../../../src/rotation/roll-back.js";
import type { StepDeps } from "../../../src/rotation/steps/step-kind.js";
import type { Runbook } from "../../../src/runbook/runbook-schema.js";

/** A rollback of two vault_drop_new steps, whose vault answers `dropNew` as given (call 1, 2). */
function fixture(dropNew: (call: number) => Promise<unknown>) {
  const rotation = { id: "20261127-1000-abcd", key: "vault_x", procedureId: "p", steps: [], environments: [] };
  const runbook = {
    procedures: [
      {
        id: "p",
        rollback: [
          { kind: "vault_drop_new", id: "drop", title: "Drop the new value", destructive: false },
          { kind: "vault_drop_new", id: "again", title: "Drop it again", destructive: false },
        ],
      },
    ],
    environments: [],
    files: { vault: "v" },
  };
  let calls = 0;
  const deps = {
    paths: { stateDir: "/nonexistent" },
    redactor: { redact: (text: string) => text.replaceAll("s3cret", "[redacted]") },
    git: { isRepository: () => Promise.resolve(false) },
    vault: { dropNew: () => dropNew(++calls) },
  };
  return {
    calls: () => calls,
    rollBack: (signal?: AbortSignal) =>
      rollBack(rotation as unknown as Rotation, runbook as unknown as Runbook, deps as unknown as StepDeps, signal),
  };
}

describe("rollBack", () => {
  it("an exception in a rollback step is a problem of the report (redacted), and the rollback goes on", async () => {
    const { rollBack } = fixture((call) =>
      call === 1 ? Promise.reject(new Error("EIO reading s3cret")) : Promise.resolve({ ok: true }),
    );
    expect(await rollBack()).toMatchObject({
      problems: ["Drop the new value: unexpected error: EIO reading [redacted] (the rotabot log has the details)"],
      undone: [{ title: "Drop it again", kind: "vault_drop_new" }],
    });
  });

  it("a shutdown stops it between steps: interrupted, and the next step does not run", async () => {
    const controller = new AbortController();
    const { rollBack, calls } = fixture(() => {
      controller.abort();
      return Promise.resolve({ ok: true });
    });
    expect(await rollBack(controller.signal)).toBe("interrupted");
    expect(calls()).toBe(1);
  });
});
