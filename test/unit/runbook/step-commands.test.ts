import { describe, expect, it } from "vitest";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { playbookCommandsOf } from "../../../src/runbook/playbook-commands.js";
import { stepCommands, type AnyStep } from "../../../src/steps/registry.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error("the shipped runbook does not load");
const runbook = loaded.runbook;
const everyStep: AnyStep[] = [...runbook.procedures.flatMap((p) => [...p.steps, ...p.rollback]), ...runbook.epilogue];
/** The fields of a step that hold an argv: a list of strings. */
const argvFields = (step: AnyStep) =>
  Object.entries(step).filter(
    (entry): entry is [string, string[]] =>
      Array.isArray(entry[1]) && entry[1].length > 0 && entry[1].every((a) => typeof a === "string"),
  );

describe("the commands a step kind says it runs", () => {
  it("list every argv a step of the shipped runbook holds, so doctor and the tag check see them all", () => {
    const missed = everyStep.flatMap((step) =>
      argvFields(step)
        .filter(([, argv]) => !stepCommands(step).some((c) => c.join("\0") === argv.join("\0")))
        .map(([field]) => `${step.kind} ${step.id}.${field}`),
    );
    expect(missed).toEqual([]);
    // The shipped runbook has a kind with two commands (nats_reload) and one with one (run).
    expect(everyStep.some((s) => s.kind === "nats_reload" && stepCommands(s).length === 2)).toBe(true);
  });

  it("are none for a kind that runs no command of the runbook", () => {
    for (const step of everyStep.filter((s) => argvFields(s).length === 0)) expect(stepCommands(step)).toEqual([]);
  });

  it("reach the tag check: the NATS reload's playbooks are listed with the step that runs them", () => {
    const nats = runbook.procedures.find((p) => p.steps.some((s) => s.kind === "nats_reload"))!;
    const reload = nats.steps.find((s) => s.kind === "nats_reload")!;
    const listed = playbookCommandsOf(runbook, { vault_password_file: "p", infra_dir: "i", state_dir: "s" }, [
      { procedure: nats, keys: [nats.secret!] },
    ]);
    const playbooks = stepCommands(reload).filter((argv) => argv[0] === "ansible-playbook");
    expect(playbooks.length).toBe(2);
    const fromReload = listed.filter((p) => p.usedBy.some((u) => u.startsWith(`${nats.id}/${reload.id}`)));
    expect(fromReload.map((p) => p.argv.at(-1))).toEqual(expect.arrayContaining(playbooks.map((a) => a.at(-1))));
  });
});
