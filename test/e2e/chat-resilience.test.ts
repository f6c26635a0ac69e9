import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  buttonsOf,
  completed,
  journalOf,
  press,
  pressForged,
  promptOf,
  startRotation,
  textOf,
} from "../support/chat-driver.js";
import { ALICE, AUDIT, BOB, BOT, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";
import { vaultFor } from "../support/vault-fixture.js";

let world: ChatWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

describe("chat walkthroughs survive timeouts, rate limits and mistakes", { timeout: 90_000 }, () => {
  it("expires an unanswered confirmation, says so, and asks again on /resume", async () => {
    world = await startChatWorld({ CONFIRM_TIMEOUT: "2s" });
    await world.startBot();
    const id = await startRotation(world, "/rotate api-token");
    const prompt = await promptOf(world, id, /This cannot be undone/);
    const confirm = buttonsOf(prompt).find((b) => b.endsWith("|g"))!;
    await world.tg.waitForMessage(
      (m) =>
        m.message.message_id === prompt.message.message_id && textOf(m).includes("⌛ This confirmation expired after"),
      10_000,
    );
    expect(buttonsOf(prompt)).toEqual([]);
    // A client that kept the old keyboard (or a forged press) still sends the data: refused as expired.
    const answer = await pressForged(world, prompt, confirm);
    expect(answer.params.text).toMatch(/expired/);
    expect(journalOf(world, id).state).toBe("awaiting_operator");
    await world.tg.waitForMessage(
      (m) =>
        m.message.chat.id === AUDIT &&
        textOf(m).includes(
          `[${id}] ⌛ confirmation of “Remove the old secret from vault and rename _new to the canonical name” expired unanswered`,
        ),
    );
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/resume ${id}` });
    const asked = await promptOf(world, id, /This cannot be undone/, prompt.message.message_id);
    // The card the resume asks stands below "Resuming rotation …", not above it.
    const resuming = world.tg
      .messages(OPS, BOT)
      .find((m) => textOf(m) === `Resuming rotation ${id} of vault_billing_api_token.`);
    expect(resuming!.message.message_id).toBeLessThan(asked.message.message_id);
    press(world, asked, "g");
    await completed(world, "vault_billing_api_token");
  });

  it("loses nothing to 429s during a rotation: audit complete and in order", async () => {
    world = await startChatWorld();
    await world.startBot();
    for (const method of ["sendMessage", "editMessageText", "answerCallbackQuery", "sendMessage"])
      world.tg.injectFault({ method, status: 429, retryAfter: 1, times: 2 });
    const { rotationId } = await world.walk("/rotate api-token");
    await world.tg.waitForMessage(
      (m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${rotationId}] 🏁 completed`),
      30_000,
    );
    const lines = world
      .auditText()
      .split("\n")
      .filter((l) => l.includes(`[${rotationId}]`))
      .map((l) => l.replace(/ \(\d+\.\d s\)$/, ""));
    // The channel carries decisions and outcomes; the routine steps are in the hash-chained log.
    const expected = [
      "▶️ started by @alice in staging",
      "👆 Remove the old secret from vault and rename _new to the canonical name: confirmed by @alice",
      "🏁 completed in",
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
    const askAgain = buttonsOf(ask).find((b) => b.endsWith("|k"))!;
    world.tg.userSends({ from: BOB, chat: "private", text: "/start" });
    press(world, ask, "k", BOB);
    await world.tg.waitForMessage(
      (m) => m.botId === BOT && m.message.chat.id === BOB && buttonsOf(m).some((b) => b.endsWith("|y")),
    );
    world.tg.userSends({ from: BOB, chat: "private", text: "too short" });
    await world.tg.waitForMessage(
      (m) =>
        m.message.chat.id === BOB && textOf(m).includes("That does not look like a SignalWire Personal Access Token"),
    );
    world.tg.userSends({ from: BOB, chat: "private", text: "PTbobsNewToken0123456789abcdef" });
    await world.tg.waitForMessage(
      (m) =>
        m.message.chat.id === BOB &&
        textOf(m).startsWith("🔐 Stored in the vault as vault_signalwire_token_new (ends in …cdef)"),
    );
    const revoke = await promptOf(world, id, /revoke the old token/);
    // The Ask me again button of the answered request is stale: it does not post the revoke card again.
    const answer = await pressForged(world, ask, askAgain, BOB);
    expect(answer.params.text).toBe(
      "this prompt is no longer current (already answered or replaced); use the latest message, or /status",
    );
    expect(buttonsOf(revoke)).not.toEqual([]);
    world.tg.userSends({ from: BOB, chat: OPS, text: "/cancel" });
    // The rollback (a vault write, a re-deploy) ends it; on a loaded machine that takes a while.
    await world.tg.waitForMessage(
      (m) =>
        m.botId === BOT && textOf(m).startsWith("⏹ aborted by @bob; vault_signalwire_token_new removed from the vault"),
      30_000,
    );
    expect(world.infra.vaultPlain()).not.toContain("_new");
    expect(world.infra.git("status", "--porcelain")).toBe("");
    expect(
      world.tg
        .messages(BOB, BOT)
        .filter((m) => !m.message.from?.is_bot && m.message.text !== "/start")
        .every((m) => m.deleted),
    ).toBe(true);
  });

  it("posts the failed step's redacted log as a document with Retry, Mark done and Abort; Abort rolls back", async () => {
    world = await startChatWorld();
    await world.startBot();
    world.infra.touch("fail-verify_new");
    const id = await startRotation(world, "/rotate api-token");
    const failed = await promptOf(world, id, /Verify all services use the new secret failed/);
    expect(buttonsOf(failed).map((b) => b.slice(-1))).toEqual(["r", "m", "a"]);
    const document = await world.tg.waitForMessage((m) => m.botId === BOT && m.document !== undefined);
    const log = document.document!.content.toString();
    expect(log).toContain("step verify_new failed on purpose");
    expect(log).toContain("new=[redacted]");
    press(world, failed, "a");
    await world.tg.waitForMessage((m) => m.botId === BOT && textOf(m).startsWith("⏹ aborted by @alice"), 30_000);
    expect(world.infra.vaultPlain()).not.toContain("_new");
    expect(world.infra.git("status", "--porcelain")).toBe("");
  });

  it("with the two-person rule, the initiator cannot approve a destructive step; an approver can", async () => {
    world = await startChatWorld({ APPROVER_IDS: String(BOB), REQUIRE_SECOND_APPROVER: "true" });
    await world.startBot();
    const id = await startRotation(world, "/rotate api-token");
    const prompt = await promptOf(world, id, /This cannot be undone/);
    // The card says who may press what: not "only @alice", who may not confirm it.
    expect(textOf(prompt)).toContain(
      `Rotation ${id} of vault_billing_api_token; ✅ Confirm: only an approver other than @alice (the two-person rule); the other buttons are @alice's.`,
    );
    const own = press(world, prompt, "g", ALICE);
    const answer = await world.tg.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === own,
    );
    expect(answer.params.text).toBe(
      "A second person must approve this step: ask someone in APPROVER_IDS to press Confirm.",
    );
    press(world, prompt, "g", BOB);
    await completed(world, "vault_billing_api_token");
    expect(world.auditText()).toContain(
      `[${id}] 👆 Remove the old secret from vault and rename _new to the canonical name: confirmed by @bob`,
    );
  });

  it("asks an approver by name in an incident: a stranger's name is refused at once, the named one is mentioned and approves", async () => {
    world = await startChatWorld({ APPROVER_IDS: String(BOB), REQUIRE_SECOND_APPROVER: "true" });
    await world.startBot();
    const before = world.tg.messages(OPS).length;
    world.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate api-token approver @mallory" });
    await world.tg.waitForMessage(
      (m) =>
        m.botId === BOT &&
        textOf(m) ===
          "Not started: @mallory is not an approver: name one of @bob (APPROVER_IDS), or ask an admin to add their user id to APPROVER_IDS and OPERATOR_IDS.",
    );
    const id = await startRotation(world, "/rotate api-token compromised token in a CI log approver @bob");
    const plan = world.tg
      .messages(OPS)
      .slice(before)
      .find((m) => textOf(m).includes("Plan: rotate vault_billing_api_token"))!;
    expect(textOf(plan)).toContain("🚨 Incident: suspected compromise: token in a CI log.");
    expect(textOf(plan)).toContain("👥 Approver asked: @bob. Only they can approve its two-person steps");
    const prompt = await promptOf(world, id, /This cannot be undone/);
    expect(textOf(prompt)).toContain(
      "👥 @bob, your approval is asked for an incident rotation: only you can approve this step.",
    );
    expect(textOf(prompt)).toContain("✅ Confirm: only @bob (the two-person rule); the other buttons are @alice's.");
    const own = press(world, prompt, "g", ALICE);
    const answer = await world.tg.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === own,
    );
    expect(answer.params.text).toBe("A second person must approve this step: ask @bob to press Confirm.");
    press(world, prompt, "g", BOB);
    await completed(world, "vault_billing_api_token");
    expect(world.auditText()).toMatch(
      new RegExp(`\\[${id}\\] ▶️ started by @alice .*suspected compromise.*; 👥 approver asked: @bob`),
    );
  });

  it("asks which API token when the name fits several, and cancels from the plan without changing anything", async () => {
    world = await startChatWorld();
    const manifest = path.join(world.infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml");
    writeFileSync(
      manifest,
      `${readFileSync(manifest, "utf8")}  vault_reports_api_token: {category: api_token, owner: "@reports-team"}\n`,
    );
    world.infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "reports token");
    await world.startBot();
    world.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate api" });
    const pick = await world.tg.waitForMessage(
      (m) => m.botId === BOT && textOf(m).startsWith("“api” fits several secrets. Which one?"),
    );
    expect(pick.message.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual([
      "vault_billing_api_token",
      "vault_reports_api_token",
    ]);
    world.tg.pressButton({ from: ALICE, chat: OPS, messageId: pick.message.message_id, data: buttonsOf(pick)[1]! });
    const plan = await world.tg.waitForMessage(
      (m) => m.botId === BOT && textOf(m).includes("Plan: rotate vault_reports_api_token"),
    );
    expect(textOf(plan)).toContain("Last rotated: never · owner: @reports-team");
    world.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: plan.message.message_id,
      data: buttonsOf(plan).find((b) => b.endsWith("|cancel"))!,
    });
    await world.tg.waitForMessage(
      (m) =>
        m.message.message_id === plan.message.message_id &&
        textOf(m).includes("Cancelled by @alice; nothing was done."),
    );
    world.tg.userSends({ from: ALICE, chat: OPS, text: "/rotate ldap" });
    await world.tg.waitForMessage(
      (m) =>
        m.botId === BOT &&
        textOf(m).startsWith("I have no procedure for “ldap”, and no secret has a name like it. Which secret?"),
    );
    expect(world.infra.exists("calls.log")).toBe(false); // no command ran
  });

  it("accepts a token the operator added to the vault by hand, after checking it is there and well-formed", async () => {
    world = await startChatWorld();
    await world.startBot();
    const id = await startRotation(world, "/rotate signalwire");
    const prompt = await world.tg.waitForMessage(
      (m) => m.botId === BOT && m.message.chat.id === ALICE && buttonsOf(m).some((b) => b.endsWith("|y")),
    );
    press(world, prompt, "y");
    const notThere = await world.tg.waitForMessage(
      (m) =>
        m.botId === BOT &&
        m.message.chat.id === ALICE &&
        textOf(m).includes("vault_signalwire_token_new is not in the vault yet"),
    );
    await vaultFor(world.infra.vaultFiles).addNew("vault_signalwire_token", "PThandAddedToken0123456789wxyz");
    press(world, notThere, "y");
    await promptOf(world, id, /revoke the old token/);
    expect(journalOf(world, id).steps.find((s) => s.id === "create_token")).toMatchObject({ state: "done" });
    expect(world.auditText()).toContain(
      `[${id}] 🔑 Create a new Personal Access Token in the SignalWire dashboard: value added to the vault by hand by @alice: received and accepted`,
    );
  });
});
