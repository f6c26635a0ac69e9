import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buttonsOf, completed, journalOf, press, promptOf, startRotation, textOf } from "../support/chat-driver.js";
import { ALICE, BOT, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";

let world: ChatWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

describe("chat walkthroughs survive a restart of the bot", { timeout: 90_000 }, () => {
  it("finishes after a crash while waiting for a confirmation: /resume asks again and the old button is dead", async () => {
    world = await startChatWorld();
    await world.startBot();
    const id = await startRotation(world, "/rotate api-token");
    const prompt = await promptOf(world, id, /This cannot be undone/);
    await world.killBot();
    await world.startBot();
    await world.tg.waitForMessage(
      (m) =>
        m.botId === BOT &&
        textOf(m).includes("rotabot restarted with rotations in flight") &&
        textOf(m).includes(`/resume ${id}`),
    );
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/resume ${id}` });
    const again = await promptOf(world, id, /This cannot be undone/, prompt.message.message_id);
    const stale = world.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: prompt.message.message_id,
      data: buttonsOf(prompt).find((b) => b.endsWith("|g"))!,
    });
    const answer = await world.tg.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === stale,
    );
    expect(answer.params.text).toMatch(/no longer current/);
    press(world, again, "g");
    await completed(world, "vault_billing_api_token");
    expect(journalOf(world, id).steps.find((s) => s.id === "promote")).toMatchObject({ state: "done", attempts: 1 });
    expect(world.infra.vaultPlain()).not.toContain("_new");
  });

  it("finishes after a crash during a command: the interrupted idempotent step is re-run on /resume", async () => {
    world = await startChatWorld();
    await world.startBot();
    world.infra.touch("pause-cycle_services");
    const id = await startRotation(world, "/rotate api-token");
    await expect.poll(() => world!.infra.exists("paused-cycle_services"), { timeout: 20_000 }).toBe(true);
    await world.killBot();
    world.infra.releasePaused("cycle_services");
    await world.startBot();
    await world.tg.waitForMessage((m) => m.botId === BOT && textOf(m).includes(`/resume ${id}`));
    expect(journalOf(world, id).steps.find((s) => s.id === "cycle_services")!.state).toBe("interrupted");
    expect(world.auditText()).toContain(`[${id}] ⚠️ interrupted during “Cycle services one by one” (rotabot stopped)`);
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/resume ${id}` });
    press(world, await promptOf(world, id, /This cannot be undone/), "g");
    await completed(world, "vault_billing_api_token");
    expect(journalOf(world, id).steps.find((s) => s.id === "cycle_services")).toMatchObject({
      state: "done",
      attempts: 2,
    });
    expect(world.infra.vaultPlain()).not.toContain("_new");
  });

  it("keeps the /rotate plan dialog across a restart: Start pressed after it still starts the rotation", async () => {
    world = await startChatWorld();
    await world.startBot();
    world.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate nats" });
    const plan = await world.tg.waitForMessage(
      (m) => m.botId === BOT && buttonsOf(m).some((b) => b.endsWith("|start")),
    );
    // The dialog's state is stored per user, versioned, under STATE_DIR (after the handler returns).
    const stateFile = path.join(world.infra.stateDir, "conversations", `user:${ALICE}.json`);
    await expect.poll(() => existsSync(stateFile), { timeout: 5_000 }).toBe(true);
    expect(readFileSync(stateFile, "utf8")).toMatch(/^\{"version":\[0,1\],"state":\{"rotate":/);
    await world.killBot();
    await world.startBot();
    world.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: plan.message.message_id,
      data: buttonsOf(plan).find((b) => b.endsWith("|start"))!,
    });
    await world.tg.waitForMessage(
      (m) => m.message.message_id === plan.message.message_id && /Started as rotation/.test(textOf(m)),
      15_000,
    );
  });

  it("asks again for a token it was waiting for when it stopped, and takes it in", async () => {
    world = await startChatWorld();
    await world.startBot();
    const id = await startRotation(world, "/rotate sentry");
    press(world, await promptOf(world, id, /not passwords/), "g");
    await world.tg.waitForMessage(
      (m) => m.botId === BOT && m.message.chat.id === ALICE && buttonsOf(m).some((b) => b.endsWith("|y")),
    );
    await world.killBot();
    const before = world.tg.messages(ALICE, BOT).length;
    await world.startBot();
    await world.tg.waitForMessage(
      (m) =>
        m.botId === BOT &&
        m.message.chat.id === ALICE &&
        m.message.message_id > before &&
        buttonsOf(m).some((b) => b.endsWith("|y")),
    );
    const dsn = "https://fedcba9876543210fedcba9876543210@o1.ingest.sentry.io/77";
    world.tg.userSends({ from: ALICE, chat: "private", text: dsn });
    await world.tg.waitForMessage(
      (m) =>
        m.message.chat.id === ALICE &&
        textOf(m).startsWith("🔐 Stored in the vault as vault_sentry_dsn_new (ends in …3210)"),
    );
    expect(world.tg.messages(ALICE, BOT).find((m) => m.message.text === dsn)?.deleted).toBe(true);
  });
});
