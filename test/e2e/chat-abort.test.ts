import { unlinkSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { buttonsOf, journalOf, press, promptOf, startRotation, textOf } from "../support/chat-driver.js";
import { ALICE, BOT, OPS } from "../support/chat-world.js";
import { useChatWorld } from "../support/use-chat-world.js";

/**
 * Aborts answer at once and show their rollback step by step (issue 20); a failed rollback stays
 * in flight, is listed by /status and is retried to success (issue 21). The rollback here is the
 * shipped api-token procedure's, run by the fixture command, which pauses while `pause-<step>`
 * exists: a paused rollback is one that has not ended, whatever the clock says.
 */
const world = useChatWorld();
const ROLLBACK = "Put the clients back on the old token, then let the gateway accept it alone";

const newest = () =>
  Math.max(
    0,
    ...world()
      .tg.messages(OPS)
      .map((m) => m.message.message_id),
  );
const opsText = (predicate: (text: string) => boolean, after: number, timeoutMs = 20_000) =>
  world().tg.waitForMessage(
    (m) => m.botId === BOT && m.message.chat.id === OPS && m.message.message_id > after && predicate(textOf(m)),
    timeoutMs,
  );
const progressShows = (id: string, predicate: (text: string) => boolean) =>
  world().tg.waitForMessage(
    (m) => m.botId === BOT && !m.deleted && textOf(m).startsWith(`🔐 Rotation ${id} of`) && predicate(textOf(m)),
    20_000,
  );
/** Waits until the fixture command of `step` is running and paused. */
const pausedAt = (step: string) =>
  expect.poll(() => world().infra.exists(`paused-${step}`), { timeout: 20_000, interval: 100 }).toBe(true);

describe("aborts answer at once and show their rollback", { timeout: 120_000 }, () => {
  it("/cancel during a running step is acknowledged before the rollback ends; the progress shows aborting and each rollback step; the end is a true aborted", async () => {
    const { infra, tg } = world();
    infra.touch("pause-cycle_services");
    infra.touch("pause-back_to_old");
    const id = await startRotation(world(), "/rotate api-token");
    await pausedAt("cycle_services");
    const before = newest();
    tg.userSends({ from: ALICE, chat: OPS, text: "/cancel" });
    const ack = await opsText((t) => t.startsWith("⏹ Aborting rotation"), before);
    expect(textOf(ack)).toBe(
      `⏹ Aborting rotation ${id} of vault_billing_api_token (@alice): rolling back 2 steps; the progress message shows each one.`,
    );
    // The running step was stopped, and the rollback now runs its own (paused) command: it has not ended.
    await pausedAt("back_to_old");
    expect(journalOf(world(), id).state).toBe("aborting");
    const during = await progressShows(id, (t) => t.includes(`▶️ ${ROLLBACK} · staging`));
    expect(textOf(during)).toContain("State: aborting, rolling back");
    expect(textOf(during)).toContain(
      "Rollback (abort by @alice):\n↩️ Remove vault_billing_api_token_new from the vault\n",
    );
    expect(textOf(during)).toContain("⏹ 4. Cycle services one by one");
    expect(tg.messages(OPS, BOT).some((m) => textOf(m).startsWith("⏹ aborted by"))).toBe(false);

    infra.releasePaused("back_to_old");
    const ended = await opsText((t) => t.startsWith("⏹ aborted by @alice"), ack.message.message_id);
    expect(textOf(ended)).toBe(
      `⏹ aborted by @alice; vault_billing_api_token_new removed from the vault; rolled back: ${ROLLBACK} (staging); every service is back on the old value`,
    );
    await progressShows(id, (t) => t.includes("State: aborted") && t.includes(`↩️ ${ROLLBACK} · staging`));
    expect(infra.vaultPlain()).not.toContain("_new");
    infra.releasePaused("cycle_services");
  });

  it("Abort on a failed step's card is answered while the rollback still runs", async () => {
    const { infra, tg } = world();
    infra.touch("fail-verify_new");
    infra.touch("pause-back_to_old");
    const id = await startRotation(world(), "/rotate api-token");
    const failed = await promptOf(world(), id, /Verify all services use the new secret failed/);
    const query = press(world(), failed, "a");
    const answered = await tg.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === query,
    );
    expect(answered.params.text).toBe("Aborting: rolling back…");
    await pausedAt("back_to_old");
    expect(journalOf(world(), id).state).toBe("aborting");
    infra.releasePaused("back_to_old");
    await opsText((t) => t.startsWith("⏹ aborted by @alice"), failed.message.message_id);
    unlinkSync(path.join(infra.infraDir, "fail-verify_new"));
  });

  it("a failed rollback stays in flight: its card says what failed and how to do it by hand, /status lists it, Retry ends it aborted", async () => {
    const { infra, tg } = world();
    infra.touch("fail-verify_new");
    infra.touch("fail-back_to_old");
    const id = await startRotation(world(), "/rotate api-token");
    const failed = await promptOf(world(), id, /Verify all services use the new secret failed/);
    press(world(), failed, "a");
    const card: StoredMessage = await promptOf(world(), id, /The rollback of rotation/, failed.message.message_id);
    expect(textOf(card)).toContain(
      `⚠️ The rollback of rotation ${id} failed: it stays in flight (its lock, the vault claim and the deploy marker are held) until it is rolled back.\n\n✘ ${ROLLBACK} in staging failed: bin/fixture-step.sh exited with code 1`,
    );
    expect(textOf(card)).toContain(
      "; by hand: bin/fixture-step.sh back_to_old (it renders vault_billing_api_token, the old value, once vault_billing_api_token_new is gone)",
    );
    expect(buttonsOf(card).map((b) => b.slice(-1))).toEqual(["r", "m"]);
    expect(journalOf(world(), id).state).toBe("rollback_failed");
    const status = tg.userSends({ from: ALICE, chat: OPS, text: "/status" });
    const listed = await opsText((t) => t.includes(`[${id}]`), status.message_id);
    expect(textOf(listed)).toContain("rollback failed at step");
    expect(textOf(listed)).toContain("   vault: back on the old value\n");
    expect(textOf(listed)).toContain(`   staging: “${ROLLBACK}” failed: bin/fixture-step.sh exited with code 1`);
    expect(textOf(listed)).toContain(
      `🔁 Retry on its card (/resume ${id} posts it again), or rotabot abort ${id} --retry-rollback`,
    );

    unlinkSync(path.join(infra.infraDir, "fail-back_to_old"));
    const before = newest();
    press(world(), card, "r");
    await opsText((t) => t.startsWith("🔁 Retrying the rollback of rotation"), before);
    const ended = await opsText((t) => t.startsWith("⏹ aborted by @alice"), before);
    expect(textOf(ended)).toContain(`rolled back: ${ROLLBACK} (staging); every service is back on the old value`);
    expect(journalOf(world(), id).state).toBe("aborted");
    expect(infra.calls().filter((c) => c === "back_to_old").length).toBeGreaterThanOrEqual(2);
    unlinkSync(path.join(infra.infraDir, "fail-verify_new"));
  });
});
