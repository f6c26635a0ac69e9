import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { resolveTarget, unreadableManifest } from "../../../src/runbook/resolve-target.js";
import type { CalendarDate } from "../../../src/time/calendar-date.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error("the shipped runbook does not load");
const runbook = loaded.runbook;
const AS_OF = "2026-11-25" as CalendarDate;
const dir = mkdtempSync(path.join(tmpdir(), "resolve-target-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A manifest in the documented block format, written for one test. */
function manifest(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}
const TWO_TOKENS = manifest(
  "two-tokens.yml",
  [
    "secrets_manifest:",
    "  vault_telegram_bot_token:",
    "    category: telegram_bot_token",
    '    owner: "@alerts-oncall"',
    "    last_rotation: 2025-10-15",
    "  vault_billing_api_token:",
    "    category: api_token",
    '    owner: "@billing-team"',
    "  vault_reports_api_token:",
    "    category: api_token",
    "",
  ].join("\n"),
);

describe("resolveTarget", () => {
  it("finds a secret by alias, with its procedure and its manifest entry", async () => {
    const target = await resolveTarget(runbook, TWO_TOKENS, "Telegram", AS_OF);
    expect(target).toMatchObject({
      kind: "found",
      key: "vault_telegram_bot_token",
      entry: { owner: "@alerts-oncall", lastRotation: "2025-10-15" },
    });
    expect(target.kind === "found" && target.procedure.secret).toBe("vault_telegram_bot_token");
  });

  it("finds a key of a category-wide procedure through the manifest, and asks which one when several fit", async () => {
    expect(await resolveTarget(runbook, TWO_TOKENS, "vault_reports_api_token", AS_OF)).toMatchObject({
      kind: "found",
      key: "vault_reports_api_token",
      procedure: { id: "api-token" },
    });
    expect(await resolveTarget(runbook, TWO_TOKENS, "api-token", AS_OF)).toMatchObject({
      kind: "ambiguous",
      keys: ["vault_billing_api_token", "vault_reports_api_token"],
    });
  });

  it("answers an unknown name with the closest secrets, none for an empty name", async () => {
    expect(await resolveTarget(runbook, TWO_TOKENS, "telegarm", AS_OF)).toMatchObject({
      kind: "unknown",
      close: ["vault_telegram_bot_token"],
    });
    expect(await resolveTarget(runbook, TWO_TOKENS, "", AS_OF)).toMatchObject({ kind: "unknown", close: [] });
  });

  it("names an unreadable manifest with its problem and the fix, instead of resolving against nothing", async () => {
    const broken = manifest("broken.yml", "secrets_manifest: [\n");
    for (const file of [broken, path.join(dir, "missing.yml")]) {
      // A fixed-secret name would resolve without the manifest: it is refused all the same.
      for (const typed of ["telegram", "vault_billing_api_token"]) {
        const target = await resolveTarget(runbook, file, typed, AS_OF);
        expect(target.kind, `${file} ${typed}`).toBe("unreadable");
        if (target.kind !== "unreadable") continue;
        expect(target.problems).toContain(file);
        expect(unreadableManifest(target, "send /plan")).toMatch(
          /^The manifest cannot be read: .+\. Fix it \(rotabot age shows every problem\) and send \/plan again\.$/,
        );
      }
    }
  });
});
