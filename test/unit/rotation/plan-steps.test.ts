import { describe, expect, it } from "vitest";
import { planSteps } from "../../../src/rotation/new-rotation.js";
import { parseRunbook } from "../../../src/runbook/load-runbook.js";
import type { Runbook } from "../../../src/runbook/runbook-schema.js";

const ENVIRONMENTS = `
environments:
  - {name: staging, inventory: infra/inventory/staging.yml}
  - {name: production, inventory: infra/inventory/production.yml, limit: prod_hosts}
`;

function runbook(environments: string, gate = true): Runbook {
  const parsed = parseRunbook(
    `version: 1
files: {vault: v.yml, manifest: m.yml}
${environments}
policies: {api_token: {every: 6 months}}
epilogue:
  - {id: smoke, kind: run, title: Smoke test, argv: [ansible-playbook, -i, "{inventory}", smoke.yml], before_each_gate: true}
  - {id: manifest, kind: manifest_update, title: Manifest}
procedures:
  - id: api
    title: API token
    category: api_token
    applies_to_category: true
    rollout: {gate: ${gate}}
    steps:
      - {id: gen, kind: generate, title: Generate}
      - {id: add, kind: vault_add_new, title: Add}
      - {id: deploy, kind: run, title: Deploy, argv: [ansible-playbook, -i, "{inventory}", d.yml]}
      - {id: verify, kind: verify, title: Verify, argv: [ansible-playbook, -i, "{inventory}", v.yml]}
      - {id: revoke, kind: manual, title: Revoke, instruction: Revoke it, destructive: true}
      - {id: promote, kind: vault_promote, title: Promote, destructive: true}
      - {id: drop, kind: run, title: Drop old, argv: [ansible-playbook, -i, "{inventory}", drop.yml]}
    rollback:
      - {id: redeploy, kind: run, title: Re-deploy, argv: [ansible-playbook, -i, "{inventory}", d.yml]}
`,
    "runbook.yml",
  );
  if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
  return parsed.runbook;
}
const ids = (r: Runbook) => planSteps(r, r.procedures[0]!).map((s) => s.id);

describe("the steps of a rotation across environments", () => {
  it("with one environment (the shipped default, staging), runs each step once, with no gate", () => {
    const one = runbook("");
    expect(one.environments).toEqual([{ name: "staging", inventory: "infra/inventory/staging.yml", env: {} }]);
    expect(ids(one)).toEqual(["gen", "add", "deploy", "verify", "revoke", "promote", "drop", "smoke", "manifest"]);
    expect(planSteps(one, one.procedures[0]!).find((s) => s.id === "deploy")!.environment).toBe("staging");
  });

  it("rolls out to staging, smoke-tests it, asks at a gate, then production; revoke and rename only after both", () => {
    const two = runbook(ENVIRONMENTS);
    expect(ids(two)).toEqual([
      "gen",
      "add",
      "deploy@staging",
      "verify@staging",
      "smoke-before-gate@staging",
      "gate@production",
      "deploy@production",
      "verify@production",
      "revoke",
      "promote",
      "drop@staging",
      "drop@production",
      "smoke@staging",
      "smoke@production",
      "manifest",
    ]);
    const steps = planSteps(two, two.procedures[0]!);
    expect(steps.find((s) => s.id === "gate@production")).toMatchObject({
      kind: "gate",
      environment: "production",
      title: "Roll out to production",
    });
    expect(steps.find((s) => s.id === "smoke-before-gate@staging")).toMatchObject({
      stepId: "smoke",
      phase: "epilogue",
      environment: "staging",
    });
  });

  it("refuses a procedure that changes services before its point of no return without a rollback", () => {
    const parsed = parseRunbook(
      `version: 1
files: {vault: v.yml, manifest: m.yml}
policies: {api_token: {every: 6 months}}
procedures:
  - id: api
    title: API
    category: api_token
    applies_to_category: true
    steps:
      - {id: gen, kind: generate, title: Generate}
      - {id: add, kind: vault_add_new, title: Add}
      - {id: deploy, kind: run, title: Deploy, argv: [ansible-playbook, -i, "{inventory}", d.yml]}
      - {id: promote, kind: vault_promote, title: Promote, destructive: true}
`,
      "runbook.yml",
    );
    expect(parsed.ok ? [] : parsed.problems).toEqual([
      expect.stringMatching(
        /procedures\[0\]\.rollback: deploy change services before the point of no return, so an abort must put them back/,
      ),
    ]);
  });

  it("asks no gate where the procedure says waiting would only prolong an outage", () => {
    expect(
      ids(runbook(ENVIRONMENTS, false)).filter((id) => id.startsWith("gate") || id.includes("before-gate")),
    ).toEqual([]);
  });

  it("refuses {inventory} in a step that runs once, and says how to fix it", () => {
    const parsed = parseRunbook(
      `version: 1
files: {vault: v.yml, manifest: m.yml}
policies: {api_token: {every: 6 months}}
procedures:
  - id: api
    title: API
    category: api_token
    applies_to_category: true
    steps:
      - {id: gen, kind: generate, title: Generate}
      - {id: add, kind: vault_add_new, title: Add}
      - {id: once, kind: run, title: Once, scope: once, argv: [ansible-playbook, -i, "{inventory}", x.yml]}
    rollback:
      - {id: undo, kind: run, title: Undo, argv: [ansible-playbook, -i, "{inventory}", x.yml]}
`,
      "runbook.yml",
    );
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.problems).toEqual([
      expect.stringMatching(
        /^runbook\.yml:\d+: procedures\[0\]\.steps\[2\]\.argv: this step runs once, not in each environment, so \{inventory\} has no value: give it `scope: environment`$/,
      ),
    ]);
  });
});
