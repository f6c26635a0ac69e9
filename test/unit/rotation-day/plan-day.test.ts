import { describe, expect, it } from "vitest";
import { parseCalendarDate } from "../../../src/time/calendar-date.js";
import { parseManifest } from "../../../src/manifest/read-manifest.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { describeDayPlan } from "../../../src/rotation-day/describe-day.js";
import { planDay } from "../../../src/rotation-day/plan-day.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
const runbook = loaded.runbook;
const asOf = parseCalendarDate("2026-12-07")!;

function plan(yaml: string) {
  const manifest = parseManifest(yaml, "m.yml", { categories: new Set(Object.keys(runbook.policies)), asOf });
  if (!manifest.ok) throw new Error(JSON.stringify(manifest.problems));
  return planDay(runbook, manifest.entries, asOf);
}

// The manifest lists the secrets in an order of its own: the day follows the runbook's.
const MANIFEST = `secrets_manifest:
  vault_reports_api_token: {category: api_token}
  vault_sentry_dsn: {category: sentry_dsn, rotate_every: 12 months}
  vault_billing_api_token: {category: api_token, last_rotation: 2026-01-01}
  vault_fresh_api_token: {category: api_token, last_rotation: 2026-12-01}
  vault_telegram_bot_token: {category: telegram_bot_token, last_rotation: 2025-01-01}
  vault_nats_password: {category: nats_password}
  vault_postgres_app_password: {category: database_password, last_rotation: 2026-11-01}
  vault_signalwire_token: {category: signalwire_pat, last_rotation: 2025-06-01}
`;

describe("a rotation day's plan", () => {
  it("lists every secret overdue or never rotated, in the runbook's order, and nothing else", () => {
    const day = plan(MANIFEST);
    expect(day.items.map((i) => [i.key, i.procedure.id, i.status])).toEqual([
      ["vault_signalwire_token", "signalwire", "overdue"],
      ["vault_telegram_bot_token", "telegram", "overdue"],
      ["vault_sentry_dsn", "sentry", "never_rotated"],
      // api-token keys in the manifest's order; a fresh one and the policy-less NATS password are not due.
      ["vault_reports_api_token", "api-token", "never_rotated"],
      ["vault_billing_api_token", "api-token", "overdue"],
    ]);
    expect(day.items[0]!.daysOverdue).toBe(189);
    expect(day.withoutProcedure).toEqual([]);
  });

  it("says which steps need the operator's hands, and asks up front only what the procedure allows", () => {
    const hands = Object.fromEntries(plan(MANIFEST).items.map((i) => [i.key, i.hands]));
    // SignalWire's PAT and Sentry's DSN are made before the rotation needs them: asked up front.
    expect(hands.vault_signalwire_token).toEqual([
      { stepId: "create_token", title: expect.any(String) as string, kind: "collect", upFront: true },
      { stepId: "revoke_old", title: expect.any(String) as string, kind: "manual", upFront: false },
    ]);
    expect(hands.vault_sentry_dsn!.find((h) => h.kind === "collect")?.upFront).toBe(true);
    // Telegram's new token is BotFather's /revoke, a manual step first: it is asked at its turn.
    expect(hands.vault_telegram_bot_token!.map((h) => [h.stepId, h.upFront])).toEqual([
      ["revoke", false],
      ["create_token", false],
    ]);
    expect(hands.vault_billing_api_token).toEqual([]);
    const lines = describeDayPlan(plan(MANIFEST));
    expect(lines[0]).toBe("1. vault_signalwire_token (SignalWire Personal Access Token), overdue by 189 days");
    expect(lines[1]).toMatch(
      /^ {3}your hands: paste "Create a new Personal Access Token[^"]*" \(asked up front\); do by hand "Revoke the old token in SignalWire"$/,
    );
    expect(lines[7]).toBe("   unattended but for the confirmations");
  });

  it("names a due secret that no procedure rotates", () => {
    const day = plan(
      `secrets_manifest:\n  vault_other_api_token: {category: api_token}\n  vault_odd: {category: database_password}\n`,
    );
    expect(day.items.map((i) => i.key)).toEqual(["vault_other_api_token"]);
    expect(day.withoutProcedure).toEqual(["vault_odd"]);
  });
});
