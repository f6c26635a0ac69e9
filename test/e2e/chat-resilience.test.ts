import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buttonsOf, textOf } from "../support/chat-driver.js";
import { ALICE, AUDIT, BOB, BOT, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";
import type { StoredMessage } from "../support/fake-telegram/fake-bot-api.js";

let world: ChatWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

/** /rotate, Start, and the rotation id; the caller answers the prompts. */
async function startRotation(w: ChatWorld, command: string, from = ALICE): Promise<string> {
  const { tg } = w;
  const before = tg.messages(OPS).length;
  tg.userSends({ from, chat: OPS, text: command });
  const plan = await tg.waitForMessage((m) => m.botId === BOT && m.message.message_id > before && buttonsOf(m).some((b) => b.endsWith("|start")));
  tg.pressButton({ from, chat: OPS, messageId: plan.message.message_id, data: buttonsOf(plan).find((b) => b.endsWith("|start"))! });
  const started = await tg.waitForMessage((m) => m.message.message_id === plan.message.message_id && /Started as rotation/.test(textOf(m)));
  return /rotation (\S+):/.exec(textOf(started))![1]!;
}

const promptOf = (w: ChatWorld, id: string, pattern: RegExp, after = 0) =>
  w.tg.waitForMessage((m) => m.botId === BOT && m.message.message_id > after && buttonsOf(m).some((b) => b.startsWith(`rt|${id}|`)) && pattern.test(textOf(m)), 20_000);
const press = (w: ChatWorld, prompt: StoredMessage, suffix: string, from = ALICE) =>
  w.tg.pressButton({ from, chat: prompt.message.chat.id, messageId: prompt.message.message_id, data: buttonsOf(prompt).find((b) => b.endsWith(`|${suffix}`))! });
const completed = (w: ChatWorld, key: string) => w.tg.waitForMessage((m) => m.botId === BOT && textOf(m).includes("Rotation complete") && textOf(m).includes(key), 30_000);
const journalOf = (w: ChatWorld, id: string) => JSON.parse(readFileSync(path.join(w.infra.stateDir, "rotations", `${id}.json`), "utf8")) as { state: string; steps: { id: string; attempts: number; state: string }[] };

describe("chat walkthroughs survive restarts, timeouts and rate limits", { timeout: 90_000 }, () => {
  it("finishes after a crash while waiting for a confirmation: /resume asks again and the old button is dead", async () => {
    world = await startChatWorld();
    await world.startBot();
    const id = await startRotation(world, "/rotate api-token");
    const prompt = await promptOf(world, id, /Cannot be undone/);
    await world.killBot();
    await world.startBot();
    await world.tg.waitForMessage((m) => m.botId === BOT && textOf(m).includes("rotabot restarted with rotations in flight") && textOf(m).includes(`/resume ${id}`));
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/resume ${id}` });
    const again = await promptOf(world, id, /Cannot be undone/, prompt.message.message_id);
    const stale = world.tg.pressButton({ from: ALICE, chat: OPS, messageId: prompt.message.message_id, data: buttonsOf(prompt).find((b) => b.endsWith("|g"))! });
    const answer = await world.tg.waitForCall((c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === stale);
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
    press(world, await promptOf(world, id, /Cannot be undone/), "g");
    await completed(world, "vault_billing_api_token");
    expect(journalOf(world, id).steps.find((s) => s.id === "cycle_services")).toMatchObject({ state: "done", attempts: 2 });
    expect(world.infra.vaultPlain()).not.toContain("_new");
  });

  it("expires an unanswered confirmation, says so, and asks again on /resume", async () => {
    world = await startChatWorld({ CONFIRM_TIMEOUT: "2s" });
    await world.startBot();
    const id = await startRotation(world, "/rotate api-token");
    const prompt = await promptOf(world, id, /Cannot be undone/);
    const confirm = buttonsOf(prompt).find((b) => b.endsWith("|g"))!;
    await world.tg.waitForMessage((m) => m.message.message_id === prompt.message.message_id && textOf(m).includes("⌛ This confirmation expired after"), 10_000);
    expect(buttonsOf(prompt)).toEqual([]);
    // A client that kept the old keyboard (or a forged press) still sends the data: refused as expired.
    const late = world.tg.pressButton({ from: ALICE, chat: OPS, messageId: prompt.message.message_id, data: confirm, forge: true });
    const answer = await world.tg.waitForCall((c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === late);
    expect(answer.params.text).toMatch(/expired/);
    expect(journalOf(world, id).state).toBe("awaiting_operator");
    await world.tg.waitForMessage((m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${id}] ⌛ confirmation of “Remove the old secret from vault and rename _new to the canonical name” expired unanswered`));
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/resume ${id}` });
    press(world, await promptOf(world, id, /Cannot be undone/, prompt.message.message_id), "g");
    await completed(world, "vault_billing_api_token");
  });

  it("loses nothing to 429s during a rotation: audit complete and in order", async () => {
    world = await startChatWorld();
    await world.startBot();
    for (const method of ["sendMessage", "editMessageText", "answerCallbackQuery", "sendMessage"]) world.tg.injectFault({ method, status: 429, retryAfter: 1, times: 2 });
    const { rotationId } = await world.walk("/rotate api-token");
    await world.tg.waitForMessage((m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${rotationId}] 🏁 completed`), 30_000);
    const lines = world.auditText().split("\n").filter((l) => l.includes(`[${rotationId}]`)).map((l) => l.replace(/ \(\d+\.\d s\)$/, ""));
    const expected = [
      "▶️ started by @alice in staging", "✅ Generate the new secret", "✅ Add it to vault with a _new suffix",
      "✅ Update affected services so both old and new values are accepted", "✅ Cycle services one by one", "✅ Verify all services use the new secret",
      "👆 Remove the old secret from vault and rename _new to the canonical name: confirmed by @alice",
      "✅ Remove the old secret from vault and rename _new to the canonical name", "✅ Post-rotation smoke test",
    ];
    const found = expected.map((e) => lines.findIndex((l) => l.endsWith(e) || l.includes(`] ${e}`)));
    expect(found.filter((i) => i === -1)).toEqual([]);
    expect(found).toEqual([...found].sort((a, b) => a - b));
    expect(new Set(lines).size).toBe(lines.length);
    expect(world.tg.calls.filter((c) => c.status === 429).length).toBe(8);
  });

  it("asks someone who never opened a private chat to do so, then takes the token; /cancel rolls back", async () => {
    world = await startChatWorld();
    await world.startBot();
    const id = await startRotation(world, "/rotate signalwire", BOB);
    const ask = await promptOf(world, id, /I cannot write to you yet/);
    world.tg.userSends({ from: BOB, chat: "private", text: "/start" });
    press(world, ask, "k", BOB);
    await world.tg.waitForMessage((m) => m.botId === BOT && m.message.chat.id === BOB && buttonsOf(m).some((b) => b.endsWith("|y")));
    world.tg.userSends({ from: BOB, chat: "private", text: "too short" });
    await world.tg.waitForMessage((m) => m.message.chat.id === BOB && textOf(m).includes("That does not look like a SignalWire Personal Access Token"));
    world.tg.userSends({ from: BOB, chat: "private", text: "PTbobsNewToken0123456789abcdef" });
    await world.tg.waitForMessage((m) => m.message.chat.id === BOB && textOf(m).startsWith("🔐 Stored in the vault as vault_signalwire_token_new (ends in …cdef)"));
    await promptOf(world, id, /revoke the old token/);
    world.tg.userSends({ from: BOB, chat: OPS, text: "/cancel" });
    await world.tg.waitForMessage((m) => m.botId === BOT && textOf(m).startsWith("⏹ aborted by @bob; vault_signalwire_token_new removed from the vault"));
    expect(world.infra.vaultPlain()).not.toContain("_new");
    expect(world.infra.git("status", "--porcelain")).toBe("");
    expect(world.tg.messages(BOB, BOT).filter((m) => !m.message.from?.is_bot && m.message.text !== "/start").every((m) => m.deleted)).toBe(true);
  });
});
