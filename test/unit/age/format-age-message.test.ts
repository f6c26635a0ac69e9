import { describe, expect, it } from "vitest";
import type { AgeReport } from "../../../src/age/build-age-report.js";
import { parseCalendarDate } from "../../../src/time/calendar-date.js";
import { computeAgeReport } from "../../../src/age/compute-age-report.js";
import { formatAgeReply } from "../../../src/age/format-age-message.js";
import { parseManifest } from "../../../src/manifest/read-manifest.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { MESSAGE_LIMIT, visibleLength } from "../../../src/telegram/html.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
const runbook = loaded.runbook;
const asOf = "2026-11-25";
const options = { asOf, onlyNeedsAction: false, manifestFile: "/infra/m.yml" };

function reportOf(yaml: string): AgeReport {
  const manifest = parseManifest(yaml, "m.yml", {
    categories: new Set(Object.keys(runbook.policies)),
    asOf: parseCalendarDate(asOf)!,
  });
  if (!manifest.ok) return { rows: [], problems: manifest.problems, readable: false };
  const rows = computeAgeReport(runbook, manifest.entries, { asOf: parseCalendarDate(asOf)!, dueSoonDays: 30 });
  return { rows, problems: manifest.problems, readable: true };
}

/** `count` entries of five lines: every tenth overdue, the rest ok (30,000 make a 5 MB file). */
function manifestOf(count: number, extra = ""): string {
  const entries = Array.from({ length: count }, (_, i) =>
    [
      `  vault_service_${String(i).padStart(6, "0")}_api_token:`,
      "    category: api_token",
      `    owner: "@team-${i % 13}"`,
      `    last_rotation: ${i % 10 === 0 ? "2025-01-15" : "2026-10-01"}`,
      `    description: The API token of service number ${i}, used by its workers and its cron jobs`,
      "",
    ].join("\n"),
  );
  return `secrets_manifest:\n${entries.join("")}${extra}`;
}

/** The 5 MB manifest's report, computed once for the tests that need it. */
let big: AgeReport | undefined;
const bigReport = () => (big ??= reportOf(manifestOf(30_000)));
// No timing assertions; the timeouts only allow for a loaded machine.
const SLOW = { timeout: 180_000 };

describe("/age reply", () => {
  it("shows a small manifest whole in one message, without a file", () => {
    const reply = formatAgeReply(reportOf(manifestOf(12)), options);
    expect(reply.document).toBeUndefined();
    expect(reply.html).toMatch(/^<b>Secret ages<\/b> as of 2026-11-25: ❗ 2 secrets need action/);
    for (let i = 0; i < 12; i++) expect(reply.html).toContain(`vault_service_${String(i).padStart(6, "0")}_api_token`);
    expect(reply.html).not.toContain("not shown");
  });

  it("answers a 5 MB manifest with one message of the most urgent secrets and the full report as a file", SLOW, () => {
    expect(manifestOf(30_000).length).toBeGreaterThan(5_000_000);
    const reply = formatAgeReply(bigReport(), options);
    expect(visibleLength(reply.html)).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(reply.html).toContain("❗ 3000 secrets need action");
    // Most urgent first: the shown rows are all overdue ones.
    const shown = [...reply.html.matchAll(/<code>(vault_service_\d+_api_token)<\/code>/g)].map((m) => m[1]);
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.every((key) => Number(/\d+/.exec(key!)![0]) % 10 === 0)).toBe(true);
    expect(reply.html).toContain(`… and ${30_000 - shown.length} more secrets not shown here.`);
    expect(reply.html).toContain("The full report is in the attached file and in <code>rotabot age</code>");
    expect(reply.document!.filename).toBe("secret-ages-2026-11-25.txt");
    const lines = reply.document!.content.split("\n");
    expect(lines.filter((l) => /^(overdue|ok)\s+vault_service_\d+_api_token/.test(l))).toHaveLength(30_000);
  });

  it("lists only what needs action with /age overdue, and caps that list too", SLOW, () => {
    const reply = formatAgeReply(bigReport(), { ...options, onlyNeedsAction: true });
    expect(visibleLength(reply.html)).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(reply.html).toMatch(/… and \d+ more secrets not shown here\./);
    expect(reply.document!.content.split("\n").filter((l) => l.startsWith("ok "))).toEqual([]);
  });

  it("caps thousands of manifest problems, keeping the first ones and the fix", () => {
    const broken = Array.from({ length: 2_000 }, (_, i) => `  vault_bad_${i}:\n    category: password\n`).join("");
    const reply = formatAgeReply(reportOf(manifestOf(100, broken)), options);
    expect(visibleLength(reply.html)).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(reply.html).toContain("⚠️ <b>2000 manifest problems</b> (those entries are left out):");
    expect(reply.html).toContain("m.yml:503: vault_bad_0.category: unknown category");
    expect(reply.html).toMatch(/… and \d+ more problems not shown here\./);
    expect(reply.html).toContain("Fix <code>/infra/m.yml</code> and send /age again.");
    expect(reply.document!.content).toContain("vault_bad_1999.category: unknown category");
  });

  it("cuts a very long owner in chat and keeps it whole in the file", () => {
    const owner = `@${"x".repeat(5_000)}`;
    const yaml = `secrets_manifest:\n  vault_a_api_token:\n    category: api_token\n    owner: "${owner}"\n`;
    const reply = formatAgeReply(reportOf(yaml), options);
    expect(visibleLength(reply.html)).toBeLessThan(300);
    expect(reply.html).toContain(`${owner.slice(0, 79)}…`);
  });
});
