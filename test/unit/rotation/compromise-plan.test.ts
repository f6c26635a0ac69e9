import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { planSteps } from "../../../src/rotation/new-rotation.js";
import { parseRunbook } from "../../../src/runbook/load-runbook.js";
import type { Runbook } from "../../../src/runbook/runbook-schema.js";

const shippedText = readFileSync(new URL("../../../deploy/runbook.yml", import.meta.url), "utf8");
const PRODUCTION = `environments:
  - name: staging
    inventory: infra/inventory/staging.yml
  - name: production
    inventory: infra/inventory/production.yml
`;

function shipped(text = shippedText): Runbook {
  const parsed = parseRunbook(text, "runbook.yml");
  if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
  return parsed.runbook;
}
const withProduction = () =>
  shipped(
    shippedText.replace("environments:\n  - name: staging\n    inventory: infra/inventory/staging.yml\n", PRODUCTION),
  );
const ids = (r: Runbook, id: string, order: "routine" | "compromise") =>
  planSteps(
    r,
    r.procedures.find((p) => p.id === id)!,
    order,
  )
    .filter((s) => s.phase === "procedure")
    .map((s) => s.id);

describe("the compromise order of each shipped procedure", () => {
  const runbook = shipped();

  it("every procedure states one, ending its window at a check it runs", () => {
    for (const p of runbook.procedures) {
      expect(p.compromise, p.id).toBeDefined();
      expect(p.compromise!.order, p.id).toContain(p.compromise!.refused_by);
    }
  });

  it("PostgreSQL sets the new password first, ends the old sessions and proves the refusal before any re-deploy", () => {
    expect(ids(runbook, "postgres", "compromise")).toEqual([
      "generate",
      "add_new",
      "compromise_outage",
      "alter_role_end_sessions",
      "old_password_refused",
      "login_new",
      "deploy_backend",
      "deploy_workers",
      "verify_clients",
      "promote",
    ]);
    // The routine order is untouched.
    expect(ids(runbook, "postgres", "routine")).toContain("drain");
    expect(ids(runbook, "postgres", "routine")).not.toContain("old_password_refused");
  });

  it("Sentry and SignalWire revoke before the deploy; NATS drops the old user at the first reload", () => {
    const before = (id: string, a: string, b: string) => {
      const order = ids(runbook, id, "compromise");
      expect(order.indexOf(a), `${id}: ${a}`).toBeGreaterThanOrEqual(0);
      expect(order.indexOf(a), `${id}: ${a} before ${b}`).toBeLessThan(order.indexOf(b));
    };
    before("sentry", "old_dsn_refused", "deploy_backend");
    expect(ids(runbook, "sentry", "compromise")).not.toContain("policy_reason");
    before("signalwire", "old_token_refused", "deploy_signaling");
    before("nats", "old_refused", "deploy_cdr_worker");
    expect(ids(runbook, "nats", "compromise")).not.toContain("accept_both");
    before("telegram", "old_token_dead", "deploy_notifications");
  });

  it("skips the gates and the smoke test between environments; the routine order keeps them", () => {
    const two = withProduction();
    const compromise = ids(two, "api-token", "compromise");
    expect(compromise).toEqual([
      "generate",
      "add_new",
      "accept_both@staging",
      "cycle_services@staging",
      "accept_both@production",
      "cycle_services@production",
      "promote",
      "drop_old@staging",
      "drop_old@production",
    ]);
    expect(ids(two, "api-token", "routine")).toContain("gate@production");
    expect(ids(two, "postgres", "compromise").filter((id) => id.startsWith("gate"))).toEqual([]);
  });
});

describe("the compromise section's validation", () => {
  const broken = (from: string, to: string) => {
    expect(shippedText).toContain(from);
    const parsed = parseRunbook(shippedText.replace(from, to), "runbook.yml");
    return parsed.ok ? "" : parsed.problems.join("\n");
  };
  const sentryOrder =
    "order: [collect_dsn, add_new, disable_old, old_dsn_refused, deploy_backend, deploy_workers, verify_events, promote]";

  it("names a step the procedure lacks, with the ones it has", () => {
    expect(broken(sentryOrder, sentryOrder.replace("disable_old", "disable_the_key"))).toMatch(
      /compromise\.order\[2\]: "disable_the_key" is no step of the procedure nor of compromise\.steps: write one of policy_reason, collect_dsn/,
    );
  });

  it("refuses an order without the new value's steps, a step twice, and a window a confirmation would end", () => {
    expect(broken(sentryOrder, sentryOrder.replace(", promote", ""))).toMatch(
      /compromise\.order: the compromise order leaves out "promote" \(vault_promote\).*: add it/,
    );
    expect(broken(sentryOrder, sentryOrder.replace("verify_events", "deploy_backend"))).toMatch(
      /"deploy_backend" is listed twice/,
    );
    expect(broken("refused_by: old_dsn_refused", "refused_by: disable_old")).toMatch(
      /compromise\.refused_by: "disable_old" is a manual step, which proves nothing/,
    );
    expect(broken("refused_by: old_dsn_refused", "refused_by: policy_reason")).toMatch(
      /compromise\.refused_by: "policy_reason" is not in compromise\.order/,
    );
  });

  it("refuses an order that could still be aborted once the old value is refused: the rollback would put the leaked value back", () => {
    const cutoff =
      "          # A leaked password is never accepted again: an abort after this would do just that.\n          destructive: true\n";
    expect(broken(cutoff, "")).toMatch(
      /procedures\[2\]\.compromise\.refused_by: no step up to "old_refused" is destructive, so the rotation could still be aborted after the old value is refused.*: mark the step that stops accepting the old value \(or a confirm step right before it\) destructive: true/,
    );
    const outage =
      "          # A leaked password is never set back: an abort after this would do just that.\n          destructive: true\n";
    expect(broken(outage, "")).toMatch(
      /procedures\[1\]\.compromise\.refused_by: no step up to "old_password_refused" is destructive/,
    );
    expect(broken(cutoff, "")).not.toMatch(
      /procedures\[\d\]\.compromise\.refused_by: no step up to "old_(token|dsn)_refused"/,
    );
  });

  it("measures the outage between two steps of the order, the break first, and says which one is wrong", () => {
    const sentrySteps = "outage_steps: { from: disable_old, to: deploy_workers }";
    expect(broken(sentrySteps, sentrySteps.replace("disable_old", "revoke_old"))).toMatch(
      /compromise\.outage_steps\.from: "revoke_old" is not in compromise\.order: name the step there that breaks the old credential/,
    );
    expect(broken(sentrySteps, sentrySteps.replace("deploy_workers", "deploy_tools"))).toMatch(
      /compromise\.outage_steps\.to: "deploy_tools" is not in compromise\.order: name the last re-deploy there/,
    );
    expect(broken(sentrySteps, "outage_steps: { from: deploy_workers, to: disable_old }")).toMatch(
      /compromise\.outage_steps\.to: "disable_old" runs before "deploy_workers" in compromise\.order/,
    );
    // Every procedure whose compromise order cuts a service off says where to measure it.
    for (const p of shipped().procedures)
      expect(p.compromise!.outage_steps !== undefined, p.id).toBe(!p.compromise!.outage.startsWith("none expected"));
  });

  it("refuses a compromise step that reuses a procedure step's id, or that the order leaves out", () => {
    expect(broken("        - id: old_password_refused\n", "        - id: login_new\n")).toMatch(
      /compromise\.steps\[2\]\.id: "login_new" is already a step of the procedure/,
    );
    expect(
      broken("alter_role_end_sessions, old_password_refused, login_new", "alter_role_end_sessions, login_new"),
    ).toMatch(/compromise\.steps\[2\]: "old_password_refused" is not in compromise\.order/);
  });
});
