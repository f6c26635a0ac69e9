import { describe, expect, it } from "vitest";
import type { RollbackStepRecord, Rotation } from "../../../src/model/rotation.js";
import { planRollback } from "../../../src/rotation/plan-rollback.js";
import { rollBack, type RollbackStepUpdate } from "../../../src/rotation/roll-back.js";
import type { StepDeps } from "../../../src/steps/step-kind.js";
import type { Runbook } from "../../../src/runbook/runbook-schema.js";

const pending = (id: string, title: string): RollbackStepRecord => ({
  id,
  stepId: id,
  title,
  kind: "vault_drop_new",
  state: "pending",
  byHand: "by hand",
});

/** A rollback of two vault_drop_new steps, whose vault answers `dropNew` as given (call 1, 2). */
function fixture(
  dropNew: (call: number) => Promise<unknown>,
  steps = [pending("drop", "Drop the new value"), pending("again", "Drop it again")],
) {
  const rotation = {
    id: "20261127-1000-abcd",
    key: "vault_x",
    procedureId: "p",
    steps: [],
    environments: [],
    rollback: { by: { id: "tg:1", name: "@alice" }, at: "", steps, touched: false },
  };
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
    paths: { stateDir: "/nonexistent", vaultPasswordFile: "/pass" },
    redactor: { redact: (text: string) => text.replaceAll("s3cret", "[redacted]") },
    git: { isRepository: () => Promise.resolve(false) },
    vault: { dropNew: () => dropNew(++calls) },
  };
  const updates: RollbackStepUpdate[] = [];
  return {
    calls: () => calls,
    updates,
    rollBack: (signal?: AbortSignal) =>
      rollBack(
        rotation as unknown as Rotation,
        runbook as unknown as Runbook,
        deps as unknown as StepDeps,
        (update) => Promise.resolve(updates.push(update)),
        signal,
      ),
  };
}

describe("rollBack", () => {
  it("reports each step's start and end; an exception is that step's failure (redacted), and the rollback goes on", async () => {
    const { rollBack, updates } = fixture((call) =>
      call === 1 ? Promise.reject(new Error("EIO reading s3cret")) : Promise.resolve({ ok: true, backup: "/b" }),
    );
    expect(await rollBack()).toEqual({ problems: [] });
    expect(updates.map(({ id, state, message }) => [id, state, message])).toEqual([
      ["drop", "running", undefined],
      ["drop", "failed", "unexpected error: EIO reading [redacted] (the rotabot log has the details)"],
      ["again", "running", undefined],
      ["again", "done", "vault_x_new is no longer in the vault"],
    ]);
  });

  it("a drop that finds no <key>_new is skipped, so nothing says it was removed", async () => {
    const { rollBack, updates } = fixture(() => Promise.resolve({ ok: true, backup: undefined }));
    await rollBack();
    expect(updates.filter((u) => u.state !== "running").map((u) => [u.state, u.message])).toEqual([
      ["skipped", "vault_x_new was not in the vault"],
      ["skipped", "vault_x_new was not in the vault"],
    ]);
  });

  it("a retry starts at the first step not done, and runs what follows", async () => {
    const { rollBack, updates, calls } = fixture(
      () => Promise.resolve({ ok: true, backup: "/b" }),
      [
        { ...pending("drop", "Drop the new value"), state: "done" },
        { ...pending("again", "Drop it again"), state: "pending" },
      ],
    );
    await rollBack();
    expect(calls()).toBe(1);
    expect(updates.map((u) => [u.id, u.state])).toEqual([
      ["again", "running"],
      ["again", "done"],
    ]);
  });

  it("a shutdown stops it between steps: interrupted, and the next step does not run", async () => {
    const controller = new AbortController();
    const { rollBack, calls } = fixture(() => {
      controller.abort();
      return Promise.resolve({ ok: true, backup: "/b" });
    });
    expect(await rollBack(controller.signal)).toBe("interrupted");
    expect(calls()).toBe(1);
  });
});

describe("planRollback", () => {
  it("drops <key>_new first, then runs per-environment steps in each environment reached (the last first), each with how to do it by hand", () => {
    const runbook = {
      files: { vault: "infra/group_vars/all/vault.yml" },
      environments: [
        { name: "staging", inventory: "inv/staging.yml", env: {} },
        { name: "production", inventory: "inv/production.yml", env: {} },
      ],
      procedures: [
        {
          id: "p",
          steps: [
            { id: "deploy", kind: "run", title: "Deploy", argv: ["ansible-playbook", "-i", "{inventory}", "d.yml"] },
          ],
          rollback: [
            {
              id: "redeploy",
              kind: "run",
              title: "Re-deploy with the old value",
              argv: [
                "ansible-playbook",
                "-i",
                "{inventory}",
                "d.yml",
                "--vault-password-file",
                "{vault_password_file}",
              ],
              destructive: false,
            },
          ],
        },
      ],
    };
    const record = (environment: string, state: string) => ({
      id: `deploy@${environment}`,
      stepId: "deploy",
      environment,
      title: "Deploy",
      kind: "run",
      phase: "procedure",
      state,
    });
    const rotation = {
      key: "vault_x",
      procedureId: "p",
      environments: ["staging", "production"],
      steps: [record("staging", "done"), record("production", "interrupted")],
    };
    const plan = planRollback(rotation as unknown as Rotation, runbook as unknown as Runbook, {
      key: "vault_x",
      paths: { vaultPasswordFile: "/etc/pass", infraDir: "/infra", stateDir: "/state" },
    });
    expect(plan.steps.map((s) => [s.id, s.state, s.byHand])).toEqual([
      [
        "vault_drop_new",
        "pending",
        "delete vault_x_new with ansible-vault edit infra/group_vars/all/vault.yml --vault-password-file /etc/pass",
      ],
      [
        "redeploy@production",
        "pending",
        "ansible-playbook -i inv/production.yml d.yml --vault-password-file /etc/pass (it renders vault_x, the old value, once vault_x_new is gone)",
      ],
      [
        "redeploy@staging",
        "pending",
        "ansible-playbook -i inv/staging.yml d.yml --vault-password-file /etc/pass (it renders vault_x, the old value, once vault_x_new is gone)",
      ],
    ]);
    expect(plan.ran.map((r) => r.id)).toEqual(["deploy@staging", "deploy@production"]);
  });
});
