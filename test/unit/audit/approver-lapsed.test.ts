import { describe, expect, it } from "vitest";
import { lapsedNow } from "../../../src/audit/audit-rotation-events.js";
import { formatAuditLine } from "../../../src/audit/create-audit.js";
import type { Rotation } from "../../../src/model/rotation.js";

const awaiting = { stepId: "promote", kind: "destructive" as const, nonce: "n1", prompt: "?", accepts: [] };
const rotation = (since: string, lapsed?: string) =>
  ({
    approver: { id: "tg:3", name: "@carol", ...(lapsed ? { lapsed } : {}) },
    awaiting: { ...awaiting, since, expired: true },
  }) as unknown as Rotation;

describe("the audit of an approver's name that lapses", () => {
  it("names the approver with the prompt whose expiry lapsed it, and not with a later one", () => {
    expect(lapsedNow(rotation("2026-12-07T10:00:00.000Z", "2026-12-07T10:15:00.000Z"))).toBe("@carol");
    expect(lapsedNow(rotation("2026-12-07T10:30:00.000Z", "2026-12-07T10:15:00.000Z"))).toBeUndefined();
    expect(lapsedNow(rotation("2026-12-07T10:00:00.000Z"))).toBeUndefined();
  });

  it("says so on the expiry line, with what happens next", () => {
    const line = formatAuditLine({
      type: "prompt_expired",
      rotation: { id: "20261207-1000-abcd", key: "vault_x" },
      step: "Remove the old secret",
      approverLapsed: "@carol",
    });
    expect(line).toContain(
      "⌛ confirmation of “Remove the old secret” expired unanswered; @carol, the approver asked by name, did not answer: any approver may approve from now on (/resume)",
    );
  });
});
