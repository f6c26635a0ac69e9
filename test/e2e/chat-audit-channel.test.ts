import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { press, promptOf, startRotation, textOf } from "../support/chat-driver.js";
import { AUDIT, BOT, NOTIFY_BOT } from "../support/chat-world.js";
import { useChatWorld } from "../support/use-chat-world.js";

const world = useChatWorld();

/** Every event the hash-chained log holds for one rotation. */
const loggedEvents = (id: string) =>
  readFileSync(path.join(world().infra.stateDir, "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { event: { type: string; rotation?: { id: string }; step?: string } }).event)
    .filter((event) => event.rotation?.id === id);

const ROTATIONS = [
  { secret: "telegram", token: () => world().tg.issueNewToken(NOTIFY_BOT) },
  { secret: "signalwire", token: () => `PT${randomBytes(24).toString("hex")}` },
  { secret: "postgres" },
  { secret: "nats" },
  { secret: "sentry", token: () => `https://${randomBytes(16).toString("hex")}@o1.ingest.sentry.io/4242` },
  { secret: "api-token" },
];

describe("the audit channel: decisions and outcomes, every step in the log", { timeout: 120_000 }, () => {
  for (const { secret, token } of ROTATIONS)
    it(`posts at most 6 messages for a full ${secret} rotation; the log keeps every step`, async () => {
      const { rotationId } = await world().walk(`/rotate ${secret}`, token ? { token } : {});
      const ours = (m: { botId: number; message: { chat: { id: number } } }) =>
        m.botId === BOT && m.message.chat.id === AUDIT;
      await world().tg.waitForMessage((m) => ours(m) && textOf(m).includes(`[${rotationId}] 🏁 completed`), 15_000);
      const messages = world()
        .tg.messages(AUDIT, BOT)
        .filter((m) => textOf(m).includes(`[${rotationId}]`));
      const lines = messages.flatMap((m) => textOf(m).split("\n")).filter((l) => l.includes(`[${rotationId}]`));
      expect(lines.length).toBeLessThanOrEqual(6);
      expect(messages.length).toBeLessThanOrEqual(6);

      const journal = JSON.parse(
        readFileSync(path.join(world().infra.stateDir, "rotations", `${rotationId}.json`), "utf8"),
      ) as { steps: { title: string; state: string }[] };
      const logged = loggedEvents(rotationId);
      // Every step that ran or was answered is in the hash-chained log, though not in the channel.
      for (const step of journal.steps.filter((s) => s.state === "done"))
        expect(logged.some((e) => e.step?.startsWith(step.title))).toBe(true);
      expect(logged.filter((e) => e.type === "step_ok").length).toBeGreaterThan(lines.length);
      expect(logged.map((e) => e.type)).toEqual(expect.arrayContaining(["rotation_started", "rotation_completed"]));
      // Routine steps stay out of the channel; the completion names the owner it notified.
      expect(lines.filter((l) => / ✅ /.test(l))).toEqual([]);
      expect(lines.at(-1)).toMatch(
        /🏁 completed in [\d.]+ min; .*commit [0-9a-f]{7}(; ⏱ [^;]+)?; ✉️ @[a-z-]+: vault_\w+ was rotated$/,
      );
    });

  it("says once who aborted a rotation and what was undone", async () => {
    const id = await startRotation(world(), "/rotate api-token");
    const confirm = await promptOf(world(), id, /cannot be undone/i);
    press(world(), confirm, "c");
    const line = await world().tg.waitForMessage((m) => m.botId === BOT && textOf(m).includes(`[${id}] ⏹`), 15_000);
    expect(
      textOf(line)
        .split("\n")
        .find((l) => l.includes(`[${id}] ⏹`)),
    ).toBe(
      `🔐 vault_billing_api_token [${id}] ⏹ aborted by @alice; vault_billing_api_token_new removed from the vault; rolled back: Put the clients back on the old token, then let the gateway accept it alone (staging); every service is back on the old value`,
    );
  });
});
