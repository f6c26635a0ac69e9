import { describe, expect, it } from "vitest";
import { parseCalendarDate } from "../../../src/time/calendar-date.js";
import { computeAgeReport } from "../../../src/age/compute-age-report.js";
import { parseManifest } from "../../../src/manifest/read-manifest.js";
import { formatDigest } from "../../../src/reminders/format-digest.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
const runbook = loaded.runbook;
const asOf = "2026-11-25";

function digestOf(yaml: string) {
  const manifest = parseManifest(yaml, "m.yml", {
    categories: new Set(Object.keys(runbook.policies)),
    asOf: parseCalendarDate(asOf)!,
  });
  if (!manifest.ok) throw new Error(JSON.stringify(manifest.problems));
  return formatDigest(
    {
      rows: computeAgeReport(runbook, manifest.entries, { asOf: parseCalendarDate(asOf)!, dueSoonDays: 30 }),
      problems: [],
      readable: true,
    },
    { asOf, manifestFile: "m.yml" },
  );
}

describe("daily digest", () => {
  it("lists what is overdue, never rotated or due soon, each with a Rotate button", () => {
    const digest = digestOf(`secrets_manifest:
  vault_billing_api_token: {category: api_token, owner: "@billing", last_rotation: 2025-01-01}
  vault_telegram_bot_token: {category: telegram_bot_token, last_rotation: 2025-12-10}
  vault_signalwire_token: {category: signalwire_pat}
  vault_postgres_app_password: {category: database_password, last_rotation: 2026-10-01}
  vault_sentry_dsn: {category: sentry_dsn}
`)!;
    // The age report's order: never rotated counts as most overdue.
    expect(digest.keys).toEqual(["vault_signalwire_token", "vault_billing_api_token", "vault_telegram_bot_token"]);
    expect(digest.html).toMatch(
      /^⏰ <b>Daily secret check<\/b> \(2026-11-25\): 1 secret overdue, 1 secret never rotated, 1 secret due soon/,
    );
    expect(digest.html).toContain("overdue by");
    expect(digest.html).not.toContain("vault_postgres_app_password");
    expect(digest.html).not.toContain("vault_sentry_dsn");
    expect(digest.keyboard.inline_keyboard.flat().map((b) => ("callback_data" in b ? b.callback_data : ""))).toEqual([
      "due|vault_signalwire_token",
      "due|vault_billing_api_token",
      "due|vault_telegram_bot_token",
    ]);
  });

  it("is nothing at all when nothing needs action", () => {
    expect(
      digestOf(
        "secrets_manifest:\n  vault_postgres_app_password: {category: database_password, last_rotation: 2026-10-01}\n  vault_sentry_dsn: {category: sentry_dsn}\n",
      ),
    ).toBeUndefined();
  });

  it("says so when the manifest cannot be read, rather than staying silent", () => {
    const digest = formatDigest(
      { rows: [], problems: [{ file: "m.yml", line: 1, message: "not YAML" }], readable: false },
      { asOf, manifestFile: "/srv/akira/m.yml" },
    )!;
    expect(digest.html).toContain("cannot be read");
    expect(digest.html).toContain("rotabot age");
  });
});
