import { describe, expect, it } from "vitest";
import { createRedactor } from "../../../src/logging/redactor.js";
import { collectStep, credentialEnding, takeCollectedValue } from "../../../src/steps/collect.js";
import type { StepDeps } from "../../../src/steps/step-kind.js";
import type { Vault } from "../../../src/vault/create-vault.js";

const KEY = "vault_signalwire_token";
const CURRENT = "PTcurrentSignalWireToken0123456789";
const step = collectStep.schema.parse({
  id: "create_token",
  title: "Create a new token",
  kind: "collect",
  prompt: "Create a new Personal Access Token in the SignalWire dashboard and paste it here.",
  format: { pattern: "^[A-Za-z0-9_-]{20,128}$", hint: "a SignalWire Personal Access Token" },
});

/** A vault in memory holding the current value; `stored` is what addNew was given. */
function fakeVault() {
  const values = new Map([[KEY, CURRENT]]);
  const stored: string[] = [];
  const vault = {
    read: (key: string) => Promise.resolve({ ok: true as const, value: values.get(key) }),
    addNew: (key: string, value: string) => {
      stored.push(value);
      values.set(`${key}_new`, value);
      return Promise.resolve({ ok: true as const });
    },
  } as unknown as Vault;
  return { vault, stored };
}

const ALICE = { id: "tg:101", name: "@alice" };
const ROTATION = { id: "20261127-1000-abcd", key: KEY, initiator: ALICE };
/** The vault's claim: granted, unless a test says another rotation holds it. */
const granted = () => Promise.resolve({ ok: true as const });
const take = (
  value: string | undefined,
  deps: { vault: Vault; redactor: ReturnType<typeof createRedactor> },
  claimVault: StepDeps["claimVault"] = granted,
) => takeCollectedValue({ rotation: ROTATION, step, value, actor: ALICE }, { ...deps, claimVault });

describe("taking a pasted value", () => {
  it("learns a value only once it passed the format check: a word typed by mistake never becomes a secret", async () => {
    const { vault, stored } = fakeVault();
    const redactor = createRedactor();
    const refused = await take("cancel", { vault, redactor });
    expect(refused).toMatchObject({ ok: false, reason: "it does not look like a SignalWire Personal Access Token" });
    expect(JSON.stringify(refused)).not.toContain("cancel");
    expect(redactor.redact("/cancel")).toBe("/cancel");
    expect(stored).toEqual([]);

    const accepted = await take("PTnewSignalWireToken9876543210rEtz", { vault, redactor });
    expect(accepted).toMatchObject({ ok: true, ending: "rEtz" });
    expect(redactor.redact("PTnewSignalWireToken9876543210rEtz")).toBe("[redacted]");
    expect(stored).toEqual(["PTnewSignalWireToken9876543210rEtz"]);
  });

  it("refuses the value in use now, pasted or added by hand, without storing or repeating it", async () => {
    const { vault, stored } = fakeVault();
    const refused = await take(CURRENT, { vault, redactor: createRedactor() });
    expect(refused).toEqual({
      ok: false,
      reason: "it is the value in use now, not a new one",
      prompt: `That is the value ${KEY} holds now, not a new one. Nothing was stored. ${step.prompt}`,
    });
    expect(stored).toEqual([]);

    await vault.addNew(KEY, CURRENT);
    const byHand = await take(undefined, { vault, redactor: createRedactor() });
    expect(byHand).toMatchObject({ ok: false, reason: "it is the value in use now, not a new one" });
    expect(JSON.stringify([refused, byHand])).not.toContain(CURRENT);
  });

  it("stores nothing while another rotation holds the vault's claim, and says which and what to do", async () => {
    const { vault, stored } = fakeVault();
    const held = () =>
      Promise.resolve({
        ok: false as const,
        message: "rotation X of vault_nats_password (by @bob) has changed the vault",
      });
    const refused = await take("PTnewSignalWireToken9876543210rEtz", { vault, redactor: createRedactor() }, held);
    // The operator created it all the same: its ending is kept, to be named at an abort.
    expect(refused).toMatchObject({ ok: false, reason: "another rotation has changed the vault", ending: "rEtz" });
    expect(refused.ok || refused.prompt).toMatch(
      /^Rotation X of vault_nats_password \(by @bob\) has changed the vault\. Nothing was stored\./,
    );
    expect(JSON.stringify(refused)).not.toContain("PTnewSignalWireToken");
    expect(stored).toEqual([]);
  });
});

describe("the ending a credential is named by", () => {
  it("is the last 4 characters of the credential itself: a DSN's key (its (?<credential>…) group), never its project id", () => {
    const dsn = "^https?://(?<credential>[0-9a-f]{32})(:[0-9a-f]{32})?@[A-Za-z0-9.-]+(:\\d+)?(/[A-Za-z0-9._-]+)*/\\d+$";
    expect(credentialEnding("https://0123456789abcdef0123456789ab119e@o1.ingest.sentry.io/4507", dsn)).toBe("119e");
    expect(credentialEnding("PTnewSignalWireToken9876543210rEtz", "^[A-Za-z0-9_-]{20,128}$")).toBe("rEtz");
    expect(credentialEnding("no pattern at all", undefined)).toBe(" all");
  });
});
