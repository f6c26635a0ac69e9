import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createDigestSender } from "../../../src/reminders/create-digest-sender.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

describe("the daily digest's sender", () => {
  it("posts to the forum topic DIGEST_TOPIC_ID names, and to the general topic without it", async () => {
    const loaded = await loadRunbook(SHIPPED_RUNBOOK);
    if (!loaded.ok) throw new Error(loaded.problems.join("; "));
    const manifestFile = path.join(mkdtempSync(path.join(tmpdir(), "digest-")), "manifest.yml");
    writeFileSync(
      manifestFile,
      "secrets_manifest:\n  vault_billing_api_token: {category: api_token, last_rotation: 2020-01-01}\n",
    );
    const sent: { chatId: number; other: Record<string, unknown> }[] = [];
    const api = {
      sendMessage: (chatId: number, _text: string, other: Record<string, unknown>) => {
        sent.push({ chatId, other });
        return Promise.resolve({});
      },
    } as never;
    const common = { api, runbook: loaded.runbook, manifestFile, opsChatId: -100123, dueSoonDays: 30, timeZone: "UTC" };
    expect(await createDigestSender({ ...common, topicId: 42 })(new Date("2026-12-07T09:00:00Z"))).toBe("sent");
    expect(await createDigestSender(common)(new Date("2026-12-07T09:00:00Z"))).toBe("sent");
    expect(sent.map((s) => [s.chatId, s.other.message_thread_id])).toEqual([
      [-100123, 42],
      [-100123, undefined],
    ]);
  });
});
