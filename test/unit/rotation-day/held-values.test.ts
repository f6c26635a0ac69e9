import { describe, expect, it } from "vitest";
import { parseCalendarDate } from "../../../src/time/calendar-date.js";
import { parseManifest } from "../../../src/manifest/read-manifest.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import {
  heldFor,
  holdValue,
  takeLostUpFront,
  unusedHeldWarnings,
  upFrontAsks,
} from "../../../src/rotation-day/held-values.js";
import type { Day } from "../../../src/rotation-day/create-day-journal.js";
import { planDay } from "../../../src/rotation-day/plan-day.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
const runbook = loaded.runbook;
const asOf = parseCalendarDate("2026-12-07")!;
const manifest = parseManifest(
  `secrets_manifest:
  vault_telegram_bot_token: {category: telegram_bot_token, last_rotation: 2025-01-01}
  vault_sentry_dsn: {category: sentry_dsn, rotate_every: 12 months}
  vault_signalwire_token: {category: signalwire_pat, last_rotation: 2025-06-01}
  vault_billing_api_token: {category: api_token, last_rotation: 2025-01-01}
`,
  "m.yml",
  { categories: new Set(Object.keys(runbook.policies)), asOf },
);
if (!manifest.ok) throw new Error(JSON.stringify(manifest.problems));
const asks = upFrontAsks(planDay(runbook, manifest.entries, asOf).items);
const DSN = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/4321";
const learned: string[] = [];
const taught = { add: (value: string) => learned.push(value) };

describe("a rotation day's credentials asked up front", () => {
  it("are the collect steps no manual step precedes: the PAT and the DSN, not Telegram's token (BotFather's /revoke comes first)", () => {
    expect(asks.map((a) => [a.item.key, a.step.id])).toEqual([
      ["vault_signalwire_token", "create_token"],
      ["vault_sentry_dsn", "collect_dsn"],
    ]);
  });

  it("holds a value of the step's format with its ending and what to revoke if unused, and refuses another with the hint", () => {
    const sentry = asks[1]!;
    expect(holdValue(sentry, "PT0123456789abcdef", taught)).toEqual({ refused: sentry.step.format.hint });
    expect(learned).toEqual([]);
    const checked = holdValue(sentry, `  ${DSN}\n`, taught);
    if (!("held" in checked)) throw new Error("refused");
    // Taught to the redactor as soon as it is held, trimmed as it is held.
    expect(learned).toEqual([DSN]);
    // The ending is the key's (the credential group), not the project id the DSN ends with.
    expect(checked.held).toEqual({
      key: "vault_sentry_dsn",
      stepId: "collect_dsn",
      value: DSN,
      ending: "cdef",
      used: false,
      revokeIfUnused: "disable or delete client key …cdef in Sentry (Project Settings, Client Keys)",
    });
  });

  it("gives each held value to its own secret's step once, and names the ones no rotation took", () => {
    const held = [asks[0]!, asks[1]!].map((ask, i) => {
      const checked = holdValue(ask, i === 0 ? "PTdayToken0123456789abcdWXYZ" : DSN, taught);
      if (!("held" in checked)) throw new Error("refused");
      return checked.held;
    });
    expect(heldFor(held, "vault_sentry_dsn", "create_token")).toBeUndefined();
    const pat = heldFor(held, "vault_signalwire_token", "create_token")!;
    pat.used = true;
    expect(heldFor(held, "vault_signalwire_token", "create_token")).toBeUndefined();
    const warnings = unusedHeldWarnings(held, "@alice");
    expect(warnings).toEqual([
      "⚠ The value @alice gave for vault_sentry_dsn (…cdef) was not used: disable or delete client key …cdef in Sentry (Project Settings, Client Keys)",
    ]);
    expect(warnings.join()).not.toContain(DSN);
  });

  it("names the values a restart lost (kept, never given) from the day's journal, and takes them off it", () => {
    const day: Day = {
      version: 1,
      id: "day-20261207-1000-abcd",
      initiator: { id: "tg:1", name: "@alice" },
      createdAt: "2026-12-07T10:00:00.000Z",
      state: "running",
      entries: [
        {
          key: "vault_signalwire_token",
          procedureId: "signalwire",
          outcome: "pending",
          heldUpFront: { ending: "LOST", revokeIfUnused: "revoke PAT …LOST in the SignalWire space" },
        },
        {
          key: "vault_sentry_dsn",
          procedureId: "sentry",
          outcome: "completed",
          heldUpFront: { ending: "cdef", revokeIfUnused: "disable key …cdef", given: true },
        },
      ],
    };
    expect(takeLostUpFront(day)).toEqual([
      "⚠ The value @alice gave for vault_signalwire_token (…LOST) was lost in a restart of rotabot (it is asked again at its turn): revoke PAT …LOST in the SignalWire space",
    ]);
    expect(day.entries.map((e) => e.heldUpFront?.ending)).toEqual([undefined, "cdef"]);
    expect(takeLostUpFront(day)).toEqual([]);
  });
});
