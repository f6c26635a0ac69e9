import { describe, expect, it } from "vitest";
import { parseCalendarDate } from "../../../src/time/calendar-date.js";
import { computeAgeReport } from "../../../src/age/compute-age-report.js";
import { parseManifest } from "../../../src/manifest/read-manifest.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
const runbook = loaded.runbook;
const categories = new Set(Object.keys(runbook.policies));

function report(yaml: string, asOf: string, dueSoonDays = 30) {
  const date = parseCalendarDate(asOf)!;
  const manifest = parseManifest(yaml, "m.yml", { categories, asOf: date });
  if (!manifest.ok) throw new Error(JSON.stringify(manifest.problems));
  expect(manifest.problems).toEqual([]);
  return computeAgeReport(runbook, manifest.entries, { asOf: date, dueSoonDays });
}

describe("age report", () => {
  it("uses the category policy and the seed's frequencies", () => {
    const [row] = report(
      "secrets_manifest:\n  vault_x_api_token: {category: api_token, last_rotation: 2025-08-31}\n",
      "2026-02-28",
    );
    expect(row).toMatchObject({
      policy: "6 months",
      due_on: "2026-02-28",
      days_left: 0,
      age_days: 181,
      status: "due_soon",
    });
  });

  it("is overdue the day after the due date, and due today on it", () => {
    const yaml =
      "secrets_manifest:\n  vault_telegram_bot_token: {category: telegram_bot_token, last_rotation: 2024-02-29}\n";
    expect(report(yaml, "2025-02-28")[0]).toMatchObject({ due_on: "2025-02-28", days_left: 0, status: "due_soon" });
    expect(report(yaml, "2025-03-01")[0]).toMatchObject({ days_left: -1, status: "overdue" });
  });

  it("counts due_soon inclusively up to the window and ok beyond it", () => {
    const yaml =
      "secrets_manifest:\n  vault_postgres_app_password: {category: database_password, last_rotation: 2025-12-10}\n";
    expect(report(yaml, "2026-11-10")[0]).toMatchObject({ days_left: 30, status: "due_soon" });
    expect(report(yaml, "2026-11-09")[0]).toMatchObject({ days_left: 31, status: "ok" });
    expect(report(yaml, "2026-11-10", 7)[0]).toMatchObject({ status: "ok" });
  });

  it("lets rotate_every override the category", () => {
    const [row] = report(
      "secrets_manifest:\n  vault_x_api_token: {category: api_token, rotate_every: 2 weeks, last_rotation: 2026-11-01}\n",
      "2026-11-25",
    );
    expect(row).toMatchObject({ policy: "2 weeks", due_on: "2026-11-15", days_left: -10, status: "overdue" });
  });

  it("reports no_policy where neither the category nor the entry has an interval (Sentry, NATS as shipped)", () => {
    const rows = report(
      "secrets_manifest:\n  vault_sentry_dsn: {category: sentry_dsn}\n  vault_nats_password: {category: nats_password, last_rotation: 2020-01-01}\n",
      "2026-11-25",
    );
    expect(rows.map((r) => [r.key, r.status, r.policy, r.due_on])).toEqual([
      ["vault_nats_password", "no_policy", null, null],
      ["vault_sentry_dsn", "no_policy", null, null],
    ]);
    expect(rows[0]!.age_days).toBe(2520);
  });

  it("orders by urgency: never rotated and most overdue first, then due soon, ok, no policy", () => {
    const rows = report(
      `secrets_manifest:
  vault_a_api_token: {category: api_token, last_rotation: 2026-11-01}
  vault_b_api_token: {category: api_token, last_rotation: 2026-01-01}
  vault_c_api_token: {category: api_token}
  vault_d_api_token: {category: api_token, last_rotation: 2026-05-01}
  vault_sentry_dsn: {category: sentry_dsn, last_rotation: 2026-01-01}
  vault_e_api_token: {category: api_token, last_rotation: 2026-06-10}
  vault_f_api_token: {category: api_token, last_rotation: 2025-01-01}
`,
      "2026-11-25",
    );
    expect(rows.map((r) => `${r.key}:${r.status}`)).toEqual([
      "vault_c_api_token:never_rotated",
      "vault_f_api_token:overdue",
      "vault_b_api_token:overdue",
      "vault_d_api_token:overdue",
      "vault_e_api_token:due_soon",
      "vault_a_api_token:ok",
      "vault_sentry_dsn:no_policy",
    ]);
  });
});
