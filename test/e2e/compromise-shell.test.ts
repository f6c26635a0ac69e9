import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Rotation } from "../../src/model/rotation.js";
import { PROJECT_ROOT } from "../support/paths.js";
import { everythingWritten, leaks, makeRotationInfra, OLD_BILLING, startShell } from "../support/rotation-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";

// Issue 23 on the shell: rotabot rotate --compromised, its refusals, and what it reports.
const FIXTURE = path.join(PROJECT_ROOT, "test/support/fixtures/rotation-runbook.yml");

/** The fixture's runbook with a compromise order (no dual acceptance: the clients switch at once). */
function withCompromise(infra: ReturnType<typeof makeRotationInfra>): Record<string, string> {
  const text = readFileSync(FIXTURE, "utf8").replace(
    "    rollback:\n",
    `    compromise:
      # The point of no return before the old token stops working (the schema requires one).
      steps:
        - {id: cutoff, kind: confirm, title: Confirm the cut-off, message: The clients fail until they switch., destructive: true}
      order: [generate, add_new, cutoff, cycle, verify, promote]
      refused_by: verify
      outage: the clients fail until they switch
      saves: the dual acceptance no longer runs while the old token is accepted
    rollback:
`,
  );
  const file = path.join(infra.stateDir, "..", `${path.basename(infra.stateDir)}-runbook.yml`);
  writeFileSync(file, text);
  return { ...infra.env, RUNBOOK_FILE: file };
}

/**
 * Two environments and a compromise order that breaks the old token (drop_old) before the clients
 * switch (cycle): the outage is measured in each environment between the two (outage_steps).
 */
function withMeasuredOutage(infra: ReturnType<typeof makeRotationInfra>): Record<string, string> {
  const text = readFileSync(FIXTURE, "utf8")
    .replace(
      "policies:\n",
      `environments:
  - {name: staging, inventory: infra/inventory/staging.yml}
  - {name: production, inventory: infra/inventory/production.yml}
policies:
`,
    )
    .replace(
      "    rollback:\n",
      `    compromise:
      steps:
        - {id: drop_old, kind: run, title: Drop the old token from the gateway, argv: [bin/fixture-step.sh, drop_old], destructive: true}
      order: [generate, add_new, drop_old, cycle, verify, promote]
      refused_by: verify
      outage_steps: {from: drop_old, to: cycle}
      outage: the clients fail from the drop until they switch
      saves: the dual acceptance no longer runs while the old token is accepted
    rollback:
`,
    );
  const file = path.join(infra.stateDir, "..", `${path.basename(infra.stateDir)}-outage-runbook.yml`);
  writeFileSync(file, text);
  return { ...infra.env, RUNBOOK_FILE: file };
}

describe("rotabot rotate --compromised", () => {
  it("refuses what it cannot read before it opens anything, each with the fix", async () => {
    const infra = makeRotationInfra();
    const env = withCompromise(infra);
    const run = async (...args: string[]) => {
      const result = await runRotabot(["rotate", "vault_billing_api_token", ...args], env, infra.infraDir);
      expect(result.code, result.stderr).toBe(2);
      return result.stderr.trim();
    };
    expect(await run("--since", "3h ago")).toBe(
      'rotabot rotate: --since belongs to a compromised secret: add --compromised "<reason>"',
    );
    expect(await run("--compromised", " ")).toBe(
      'rotabot rotate: a compromised secret needs a reason, for example: --compromised "token pasted in a public channel, INC-51"',
    );
    expect(await run("--compromised", "leak", "--since", "tomorrow")).toMatch(
      /^rotabot rotate: --since: "tomorrow" is no time rotabot can read: .*\(2026-12-07T09:30Z\)/,
    );
    expect(await run("--compromised", "leak", "--order", "fast")).toBe(
      'rotabot rotate: --order is compromise or routine, not "fast"',
    );
    expect(await run("--compromised", "leak", "--incident", "leak")).toMatch(/--compromised is already an incident/);
    // The fixture's own runbook states no compromise order.
    const none = await runRotabot(
      ["rotate", "vault_billing_api_token", "--compromised", "leak"],
      infra.env,
      infra.infraDir,
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("procedure api-token states no compromise order: add a `compromise:` section");
  });

  it("runs the compromise order during a deploy, measures the window from --since, and reports it everywhere", async () => {
    const infra = makeRotationInfra();
    const env = withCompromise(infra);
    infra.touch(".deploy-in-progress");
    const reason = "token in CI logs, INC-90";
    const shell = startShell(
      ["rotate", "vault_billing_api_token", "--yes", "--compromised", reason, "--since", "3h ago"],
      env,
    );
    // The cut-off, the compromise order's point of no return, is the first destructive decision.
    await shell.waitFor(/Confirm the cut-off[^]*can no longer be aborted[^]*Type yes to go on/, 60_000);
    const plan = shell.output();
    expect(plan).toContain(`🚨 Incident: vault_billing_api_token suspected compromised (${reason}), exposed since`);
    expect(plan).toContain("  costs: the clients fail until they switch");
    expect(plan).toContain("  saves: the dual acceptance no longer runs while the old token is accepted");
    expect(plan).toContain("Chosen: the compromise order (--order routine for the other).");
    expect(plan).not.toContain("Update affected services so both old and new values are accepted");
    expect(plan).toContain("✉ Owner to notify");
    shell.answer("yes");
    await shell.waitFor(/Remove the old secret and rename _new\. This cannot be undone[^]*Type yes to go on/);
    shell.answer("yes");
    expect(await shell.exited).toBe(0);
    const id = /Rotation (\d{8}-\d{4}-[0-9a-f]{4}) started/.exec(shell.output())![1]!;
    const r = JSON.parse(readFileSync(path.join(infra.stateDir, "rotations", `${id}.json`), "utf8")) as Rotation;
    expect(r.incident).toEqual({ reason });
    expect(r.compromise).toMatchObject({ reason, sinceGiven: true, order: "compromise" });
    expect(r.steps.map((s) => s.id).slice(0, 6)).toEqual([
      "generate",
      "add_new",
      "cutoff",
      "cycle",
      "verify",
      "promote",
    ]);
    const verify = r.steps.find((s) => s.id === "verify")!;
    expect(r.exposure).toMatchObject({ proven: true, to: verify.endedAt, by: verify.title });
    expect(r.exposure!.seconds).toBeGreaterThanOrEqual(3 * 3600);
    expect(shell.output()).toMatch(
      /🚨 exposure window 3 h 0\d min: the old value stayed accepted from the suspected leak/,
    );
    expect(readFileSync(path.join(infra.infraDir, "CHANGELOG.md"), "utf8")).toContain(
      `(rotation ${id}, by opsuser); suspected compromise (${reason}), exposure window 3 h`,
    );
    const history = await runRotabot(["history"], env, infra.infraDir);
    expect(history.stdout).toContain(`${id}  vault_billing_api_token  completed  by opsuser`);
    expect(history.stdout).toContain(`🚨 suspected compromise (${reason}), compromise order; exposure window 3 h`);
    const timeline = await runRotabot(["timeline", id, "--markdown"], env, infra.infraDir);
    expect(timeline.stdout).toContain(`## Timeline: rotation ${id} of \`vault_billing_api_token\``);
    expect(timeline.stdout).toMatch(
      /\| suspected leak of vault_billing_api_token \(as declared\): token in CI logs, INC-90 \| +\|/,
    );
    expect(timeline.stdout).toMatch(/\| Remove the old secret and rename _new: confirmed \| opsuser \|/);
    const newValue = /^vault_billing_api_token: "([^"]+)"$/m.exec(infra.vaultPlain())![1]!;
    expect(
      leaks(everythingWritten(infra, [shell.output(), history.stdout, timeline.stdout]), [OLD_BILLING, newValue]),
    ).toEqual([]);
  });

  it("measures the compromise order's outage in each environment and reports it next to the window", async () => {
    const infra = makeRotationInfra();
    const env = withMeasuredOutage(infra);
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes", "--compromised", "leak, INC-91"], env);
    // Dropping the old token is the point of no return; each environment's drop and the rename ask.
    for (let environments = 2; environments > 0; environments--) {
      await shell.waitFor(/Drop the old token from the gateway[^]*Type yes to go on/, 60_000);
      shell.answer("yes");
    }
    await shell.waitFor(/Remove the old secret and rename _new\. This cannot be undone[^]*Type yes to go on/);
    shell.answer("yes");
    expect(await shell.exited, shell.output()).toBe(0);
    const id = /Rotation (\d{8}-\d{4}-[0-9a-f]{4}) started/.exec(shell.output())![1]!;
    const r = JSON.parse(readFileSync(path.join(infra.stateDir, "rotations", `${id}.json`), "utf8")) as Rotation;
    const end = (recordId: string) => r.steps.find((s) => s.id === recordId)!.endedAt;
    expect(r.environmentOutages).toEqual(
      ["staging", "production"].map((environment) => ({
        environment,
        from: end(`drop_old@${environment}`),
        to: end(`cycle@${environment}`),
        seconds: expect.any(Number) as number,
      })),
    );
    const said =
      /outage per environment \(from the break of the old credential to the end of the last re-deploy there\): staging \d+\.\d s, production \d+\.\d s/;
    expect(shell.output()).toMatch(said);
    expect(readFileSync(path.join(infra.infraDir, "CHANGELOG.md"), "utf8")).toMatch(said);
    expect((await runRotabot(["history"], env, infra.infraDir)).stdout).toMatch(said);
  });
});
