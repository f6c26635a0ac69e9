import { unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buttonsOf, completed, press, promptOf, startRotation, textOf } from "../support/chat-driver.js";
import { OLD_VALUES } from "../support/chat-fixture.js";
import { ALICE, AUDIT, BOB, BOT, NOTIFY_BOT, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { everythingWritten, leaks } from "../support/rotation-fixture.js";

/** What an operator reads on the cards of a rotation, word for word (issue 15). */
let world: ChatWorld;
const secrets: string[] = [];
beforeAll(async () => {
  world = await startChatWorld();
  secrets.push(...world.secrets);
  await world.startBot();
}, 60_000);
afterAll(() => world?.stop());

const bot = (m: StoredMessage) => m.botId === BOT;
const actions = (m: StoredMessage) => buttonsOf(m).map((b) => b.slice(-1));
/** The private request for a value, newer than `after`. */
const privateRequest = (id: string, after = 0) =>
  world.tg.waitForMessage(
    (m) =>
      bot(m) &&
      m.message.chat.id === ALICE &&
      m.message.message_id > after &&
      buttonsOf(m).some((b) => b.startsWith(`rt|${id}|`) && b.endsWith("|y")),
    20_000,
  );
/** The progress messages of a rotation still in the ops chat. */
const progressOf = (id: string) =>
  world.tg.messages(OPS, BOT).filter((m) => !m.deleted && textOf(m).startsWith(`🔐 Rotation ${id} of`));
/** Resolves once `message` was edited to read `text`. */
const editedTo = (message: StoredMessage, text: string) =>
  world.tg.waitForMessage(
    (m) =>
      m.message.chat.id === message.message.chat.id &&
      m.message.message_id === message.message.message_id &&
      textOf(m) === text,
  );
/** The bot's message in `chat` (newer than message `after`) whose text fits. */
const waitForText = (predicate: (text: string) => boolean, chat = OPS, after = 0) =>
  world.tg.waitForMessage(
    (m) => bot(m) && m.message.chat.id === chat && m.message.message_id > after && predicate(textOf(m)),
    20_000,
  );
/** The newest message id in `chat` so far: what a test waits for comes after it. */
const newest = (chat: number) => Math.max(0, ...world.tg.messages(chat).map((m) => m.message.message_id));

describe("the cards of a rotation say what happens and what to press", { timeout: 90_000 }, () => {
  it("deletes a credential pasted privately with no request open, says why, and audits it without the value", async () => {
    const pasted = "here it is: qZ7rT2mWx9LpA4vBn8KcY3hJ";
    secrets.push("qZ7rT2mWx9LpA4vBn8KcY3hJ");
    world.tg.userSends({ from: ALICE, chat: "private", text: pasted });
    const reply = await waitForText((t) => t.startsWith("⚠️ Your message held"), ALICE);
    expect(textOf(reply)).toBe(
      "⚠️ Your message held a long random-looking string (a token or password). I deleted it. No rotation was waiting for a value from you, so nothing was stored. If it is a real secret, treat it as exposed to this chat's history: rotate it. When a rotation asks for a token, I ask here first.",
    );
    expect(world.tg.messages(ALICE, BOT).find((m) => m.message.text === pasted)?.deleted).toBe(true);

    world.tg.userSends({ from: ALICE, chat: "private", text: OLD_VALUES.vault_nats_password });
    await waitForText((t) => t.startsWith("⚠️ Your message held a secret rotabot knows"), ALICE);
    expect(world.tg.messages(ALICE, BOT).find((m) => m.message.text === OLD_VALUES.vault_nats_password)?.deleted).toBe(
      true,
    );
    // The audit channel gets a line each (several lines may share one message), never the value.
    await expect
      .poll(() => world.auditText().split("\n"), { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining([
          "⚠️ @alice sent a long random-looking string (a token or password) in a private chat; the message was deleted. It counts as exposed.",
          "⚠️ @alice sent a secret rotabot knows (a vault value or a bot token) in a private chat; the message was deleted. It counts as exposed.",
        ]),
      );
  });

  it("Telegram: a token Telegram refuses (401) can be replaced with Send another value; the ops chat's waiting line follows each value", async () => {
    const wrong = `${NOTIFY_BOT}:AAwrongTokenNeverIssued0123456789abcd`;
    secrets.push(wrong);
    const id = await startRotation(world, "/rotate telegram");
    const outage = await promptOf(world, id, /the notification bot is down/);
    // Confirming the outage changes nothing yet: the card stands right below the live progress and still offers Cancel.
    expect(textOf(outage)).toMatch(/^Telegram keeps one token per bot\./);
    expect(textOf(outage)).toContain("Nothing changes yet");
    expect(actions(outage)).toEqual(["g", "c"]);
    expect(progressOf(id).map((m) => m.message.message_id)).toEqual([outage.message.message_id - 1]);
    press(world, outage, "g");
    await world.tg.waitForMessage(
      (m) => m.message.message_id === outage.message.message_id && textOf(m).endsWith("\n\n✅ Confirmed by @alice"),
    );
    // The revoke is the operator's to say: the card says once that it cannot be undone, with its own button.
    const revoke = await promptOf(world, id, /In @BotFather send \/revoke/);
    expect(textOf(revoke)).toMatch(/^⚠️ In @BotFather send \/revoke/);
    expect(textOf(revoke).match(/cannot be undone/gi)).toHaveLength(1);
    expect(textOf(revoke)).toContain("once you press I revoked it, the rotation can no longer be aborted");
    expect(actions(revoke)).toEqual(["d", "c"]);
    expect(revoke.message.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual([
      "I revoked it",
      "✖️ Cancel rotation",
    ]);
    press(world, revoke, "d");

    const request = await privateRequest(id);
    expect(textOf(request)).toContain(
      `The token in use now ends in …${world.oldTelegramToken.slice(-4)}.\n\nSend it here as a plain message.`,
    );
    const waiting = await waitForText((t) => t.startsWith("🔑 Waiting for @alice to send the new value"));
    world.tg.userSends({ from: ALICE, chat: "private", text: "not a token" });
    await editedTo(
      waiting,
      "🔑 The value @alice sent for vault_telegram_bot_token was rejected: it does not look like a bot token such as 123456789:AA... (digits, a colon, 30+ letters). Nothing was stored; waiting for another value in the private chat.",
    );
    const again = await privateRequest(id, request.message.message_id);
    world.tg.userSends({ from: ALICE, chat: "private", text: wrong });
    await editedTo(
      waiting,
      "🔑 @alice sent the new value of vault_telegram_bot_token: received and accepted, stored in the vault as vault_telegram_bot_token_new (ends in …abcd).",
    );
    expect(
      textOf(
        await world.tg.waitForMessage(
          (m) => m.message.chat.id === ALICE && m.message.message_id === again.message.message_id,
        ),
      ),
    ).toMatch(/\n\n🔑 Value sent by @alice$/);

    const refused = await promptOf(world, id, /belongs to the same bot .* failed/);
    expect(textOf(refused)).toBe(
      [
        "Check that the new token belongs to the same bot (its bot id and getMe) failed: the new token is refused by Telegram (401 Unauthorized); if you asked @BotFather again since, the newest token replaced it: paste that one",
        "",
        "🔁 Retry runs it again.",
        "☑️ Mark done skips it, as if it had succeeded: press it only if you did it or checked it yourself.",
        "🔑 Send another value asks you for the value again, then repeats the steps that used it.",
        "",
        `Rotation ${id} of vault_telegram_bot_token; only @alice can answer.`,
      ].join("\n"),
    );
    // Past the revoke there is no going back: no Abort.
    expect(actions(refused)).toEqual(["r", "m", "v"]);
    press(world, refused, "v");
    const third = await privateRequest(id, again.message.message_id);
    const waitingAgain = await world.tg.waitForMessage(
      (m) => bot(m) && m.message.message_id > waiting.message.message_id && textOf(m).startsWith("🔑 Waiting for"),
    );
    const token = world.tg.issueNewToken(NOTIFY_BOT);
    secrets.push(token);
    expect(textOf(third)).toContain("if you lost it, /revoke again and paste the newest");
    world.tg.userSends({ from: ALICE, chat: "private", text: token });
    await world.tg.waitForMessage(
      (m) =>
        m.message.message_id === waitingAgain.message.message_id &&
        textOf(m).endsWith(
          `received and accepted, stored in the vault as vault_telegram_bot_token_new (ends in …${token.slice(-4)}).`,
        ),
    );
    const promote = await promptOf(world, id, /Rename the new vault key/);
    // The revoke was the point of no return: the card does not say abort is still possible.
    expect(textOf(promote).split("\n\n")[0]).toBe(
      "⚠️ Rename the new vault key to vault_telegram_bot_token. This cannot be undone.",
    );
    press(world, promote, "g");
    await completed(world, "vault_telegram_bot_token");
    expect(world.valueOf("vault_telegram_bot_token")).toBe(token);
    expect(progressOf(id)).toHaveLength(1);
    await world.tg.waitForMessage(
      (m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${id}] 🏁 completed`),
      15_000,
    );
    const audit = world
      .auditText()
      .split("\n")
      .filter((l) => l.includes(`[${id}]`) && l.includes("🔑"));
    const step = "Send the new token from @BotFather";
    expect(audit.map((l) => l.replace(/^.*\] /, ""))).toEqual([
      `🔑 ${step}: value sent by @alice: rejected: it does not look like a bot token such as 123456789:AA... (digits, a colon, 30+ letters)`,
      `🔑 ${step}: value sent by @alice: received and accepted`,
      `🔑 ${step}: value sent by @alice: received and accepted`,
    ]);
  });

  it("SignalWire: the revoke card names the old and new token by their last 4 characters; a failed revoke check names its buttons and what Mark done skips", async () => {
    const pat = "PTnewSignalWireToken9876543210rEtz";
    secrets.push(pat);
    // What ansible-playbook's uri task prints when the repository still accepts the old token
    // (ansible-core 2.14.18 on this machine, against a server that answers 200).
    writeFileSync(
      path.join(world.infra.infraDir, "fail-old_token_refused"),
      'fatal: [localhost]: FAILED! => {"changed": false, "elapsed": 0, "msg": "Status code was 200 and not [401]: OK (464 bytes)", "redirected": false, "status": 200, "url": "http://127.0.0.1:8765/"}\n',
    );
    const id = await startRotation(world, "/rotate signalwire");
    await privateRequest(id);
    world.tg.userSends({ from: ALICE, chat: "private", text: pat });
    const revoke = await promptOf(world, id, /revoke the old token/);
    expect(textOf(revoke)).toContain(
      "\n\nRevoke the token ending …cdef; keep …rEtz (the new one).\n\nThis cannot be undone: once you press Done, the rotation can no longer be aborted.",
    );
    expect(textOf(revoke)).not.toContain(OLD_VALUES.vault_signalwire_token.slice(-5));
    press(world, revoke, "d");
    const failed = await promptOf(world, id, /Check that the package repository refuses the old token failed/);
    expect(textOf(failed).split("\n\n").slice(1)).toEqual([
      "From the log:\nfatal: [localhost]: Status code was 200 and not [401]: OK (464 bytes)",
      "Was the old token ending …cdef revoked? This check proves that “Revoke the old token in SignalWire” worked; if the old token ending …cdef is still accepted, it was not. Revoke it now, then press Retry.",
      [
        "🔁 Retry runs it again.",
        "☑️ Mark done skips this check: nobody will have checked that “Revoke the old token in SignalWire” worked, so the old token ending …cdef may still be valid. The rotation goes on as if it had passed.",
      ].join("\n"),
      `Rotation ${id} of vault_signalwire_token; only @alice can answer.`,
    ]);
    expect(actions(failed)).toEqual(["r", "m"]);
    unlinkSync(path.join(world.infra.infraDir, "fail-old_token_refused"));
    press(world, failed, "r");
    await world.tg.waitForMessage(
      (m) => m.message.message_id === failed.message.message_id && textOf(m).endsWith("\n\n🔁 Retried by @alice"),
    );
    press(world, await promptOf(world, id, /Rename the new vault key/), "g");
    await completed(world, "vault_signalwire_token");
  });

  it("an aborted rotation shows the step it stopped at with ⏹, not ⚠️", async () => {
    const id = await startRotation(world, "/rotate signalwire");
    await privateRequest(id);
    const pat = "PTabortedSignalWireToken0123456789";
    secrets.push(pat);
    world.tg.userSends({ from: ALICE, chat: "private", text: pat });
    press(world, await promptOf(world, id, /revoke the old token/), "c");
    await waitForText((t) => t.startsWith(`🔐 Rotation ${id} of`) && t.includes("State: aborted"));
    const [progress] = progressOf(id);
    expect(textOf(progress!)).toContain("\n⏹ 5. Revoke the old token in SignalWire ⚠\n");
    expect(textOf(progress!)).not.toContain("⚠️");
  });

  it("an answer or an abort settles only its own rotation's cards, never another operator's", async () => {
    const ops = newest(OPS);
    const alices = await startRotation(world, "/rotate sentry");
    const policy = await promptOf(world, alices, /Sentry DSNs are project-specific/);
    const bobs = await startRotation(world, "/rotate postgres", BOB);
    const window = await promptOf(world, bobs, /maintenance window/);
    press(world, window, "g", BOB);
    await world.tg.waitForMessage(
      (m) => m.message.message_id === window.message.message_id && textOf(m).endsWith("\n\n✅ Confirmed by @bob"),
    );
    // Bob's next card comes after every edit his confirmation caused.
    const next = await promptOf(world, bobs, /only @bob can answer/, window.message.message_id);
    expect(textOf(policy)).not.toContain("Confirmed by @bob");
    expect(actions(policy)).toEqual(["g", "c"]);

    press(world, policy, "c");
    await waitForText((t) => t.startsWith(`⏹ aborted by @alice`), OPS, ops);
    expect(textOf(next)).not.toContain("rotation aborted");
    expect(actions(next)).not.toEqual([]);
    press(world, next, "c", BOB);
    await waitForText((t) => t.startsWith(`⏹ aborted by @bob`), OPS, ops);
  });

  it("with token requests of two rotations open, takes a value only as a reply to one of them", async () => {
    const [ops, dm] = [newest(OPS), newest(ALICE)];
    const signalwire = await startRotation(world, "/rotate signalwire");
    const first = await privateRequest(signalwire, dm);
    const sentry = await startRotation(world, "/rotate sentry");
    press(world, await promptOf(world, sentry, /Sentry DSNs are project-specific/), "g");
    const second = await privateRequest(sentry, first.message.message_id);
    const pat = "PTtwoRequestsOpenSignalWire0123456789";
    const dsn = "https://fedcba9876543210fedcba9876543210@o1.ingest.sentry.io/43";
    secrets.push(pat, dsn);

    const unclear = world.tg.userSends({ from: ALICE, chat: "private", text: pat });
    const refusal = await waitForText((t) => t.startsWith("Nothing was stored"), ALICE, dm);
    expect(textOf(refusal)).toBe(
      `Nothing was stored: I am waiting for 2 values from you (vault_signalwire_token for rotation ${signalwire}, vault_sentry_dsn for rotation ${sentry}) and cannot tell which one this is. Send it again as a reply to my request for that secret.`,
    );
    expect(world.tg.messages(ALICE).find((m) => m.message.message_id === unclear.message_id)?.deleted).toBe(true);
    expect(world.infra.vaultPlain()).not.toContain("_new");

    world.tg.userSends({ from: ALICE, chat: "private", text: pat, replyTo: first.message.message_id });
    await waitForText((t) => t.startsWith("🔐 Stored in the vault as vault_signalwire_token_new"), ALICE, dm);
    expect(world.valueOf("vault_signalwire_token_new")).toBe(pat);
    // One request left: a plain message answers it. But the SignalWire rotation has changed the
    // vault, and each rotation commits the vault whole: the DSN waits until that one has ended.
    world.tg.userSends({ from: ALICE, chat: "private", text: dsn });
    const waits = await privateRequest(sentry, second.message.message_id);
    expect(textOf(waits)).toContain(
      `Rotation ${signalwire} of vault_signalwire_token (by @alice) has changed the vault and not committed it yet; rotations share the vault file and its commit, so this one waits: /status shows that one; once it is finished or aborted, try again. Nothing was stored.`,
    );
    expect(world.infra.vaultPlain()).not.toContain("vault_sentry_dsn_new");
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${signalwire}` });
    // The PAT the operator created is still valid in SignalWire: the abort names it by its own last 4 characters.
    const patLeft = await waitForText((t) => t.startsWith("⏹ aborted by @alice") && t.includes("signalwire"), OPS, ops);
    expect(textOf(patLeft)).toMatch(
      /\n\n⚠️ Created for this rotation and still valid: revoke PAT …6789 in the SignalWire space \(dashboard, Personal Access Tokens\)\. \/status \(rotabot status\) lists it until someone says revoked\.$/,
    );
    expect(actions(patLeft)).toEqual(["x"]);
    // That rotation ended: its claim on the vault went with it, and the DSN is taken.
    world.tg.userSends({ from: ALICE, chat: "private", text: dsn });
    await waitForText((t) => t.startsWith("🔐 Stored in the vault as vault_sentry_dsn_new"), ALICE, dm);
    expect(world.valueOf("vault_sentry_dsn_new")).toBe(dsn);

    world.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${sentry}` });
    // The DSN's key (refused while the vault was held, then taken) is named by the key's own ending, not the project id.
    const dsnLeft = await waitForText((t) => t.startsWith("⏹ aborted by @alice") && t.includes("sentry"), OPS, ops);
    expect(textOf(dsnLeft)).toContain(
      "⚠️ Created for this rotation and still valid: disable or delete client key …3210 in Sentry (Project Settings, Client Keys).",
    );
    // /status lists both until someone says they were revoked; Revoked on the abort message settles it.
    const status = world.tg.userSends({ from: ALICE, chat: OPS, text: "/status" });
    const listed = await waitForText((t) => t.includes("left credentials created for it"), OPS, status.message_id);
    expect(textOf(listed)).toContain(
      `⚠️ vault_signalwire_token [${signalwire}] (aborted) left credentials created for it still valid: revoke PAT …6789 in the SignalWire space (dashboard, Personal Access Tokens)`,
    );
    expect(textOf(listed)).toContain(`vault_sentry_dsn [${sentry}] (aborted)`);
    press(world, patLeft, "x", BOB);
    await world.tg.waitForMessage(
      (m) => m.message.message_id === patLeft.message.message_id && textOf(m).endsWith("\n\n✅ Revoked, says @bob."),
    );
    expect(actions(await world.tg.waitForMessage((m) => m.message.message_id === patLeft.message.message_id))).toEqual(
      [],
    );
    await expect
      .poll(() => world.auditText())
      .toContain(
        `[${signalwire}] ✅ revoked, says @bob: revoke PAT …6789 in the SignalWire space (dashboard, Personal Access Tokens)`,
      );
    const again = world.tg.userSends({ from: ALICE, chat: OPS, text: "/status" });
    const after = await waitForText((t) => t.includes("left credentials created for it"), OPS, again.message_id);
    expect(textOf(after)).not.toContain(signalwire);
    expect(textOf(after)).toContain(sentry);
  });

  it("routes a value by the request it replies to: a reply to a closed request is refused and deleted, never stored for another rotation", async () => {
    const signalwire = await startRotation(world, "/rotate signalwire");
    const closed = await privateRequest(signalwire);
    // Earlier tests aborted rotations of these secrets too: wait for this abort's own end.
    const beforeCancel = newest(OPS);
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${signalwire}` });
    await waitForText((t) => t.startsWith("⏹ aborted by @alice"), OPS, beforeCancel);
    const sentry = await startRotation(world, "/rotate sentry");
    press(world, await promptOf(world, sentry, /Sentry DSNs are project-specific/), "g");
    const open = await privateRequest(sentry, closed.message.message_id);
    const dsn = "https://00112233445566778899aabbccddeeff@o1.ingest.sentry.io/44";
    secrets.push(dsn);

    const misplaced = world.tg.userSends({
      from: ALICE,
      chat: "private",
      text: dsn,
      replyTo: closed.message.message_id,
    });
    const refusal = await waitForText(
      (t) => t.startsWith("Nothing was stored: you replied"),
      ALICE,
      open.message.message_id,
    );
    expect(textOf(refusal)).toBe(
      `Nothing was stored: you replied to the request of rotation ${signalwire} of vault_signalwire_token (it was aborted), which no longer waits for a value. Your message was deleted. If the value is a live credential, revoke it where it was issued; to answer an open request, reply to that request (vault_sentry_dsn for rotation ${sentry}).`,
    );
    expect(world.tg.messages(ALICE).find((m) => m.message.message_id === misplaced.message_id)?.deleted).toBe(true);
    expect(world.infra.vaultPlain()).not.toContain("vault_sentry_dsn_new");

    world.tg.userSends({ from: ALICE, chat: "private", text: dsn, replyTo: open.message.message_id });
    await waitForText((t) => t.startsWith("🔐 Stored in the vault as vault_sentry_dsn_new"), ALICE);
    const beforeSentryCancel = newest(OPS);
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${sentry}` });
    await waitForText((t) => t.startsWith("⏹ aborted by @alice") && t.includes("sentry"), OPS, beforeSentryCancel);
  });

  it("SignalWire: refuses the token in use now as the new one, before storing it, and asks for a new one", async () => {
    const inUse = world.valueOf("vault_signalwire_token")!;
    const ops = newest(OPS);
    const id = await startRotation(world, "/rotate signalwire");
    const request = await privateRequest(id);
    const waiting = await waitForText(
      (t) => t.startsWith("🔑 Waiting for @alice to send the new value of vault_signalwire_token"),
      OPS,
      ops,
    );
    world.tg.userSends({ from: ALICE, chat: "private", text: inUse });
    await editedTo(
      waiting,
      "🔑 The value @alice sent for vault_signalwire_token was rejected: it is the value in use now, not a new one. Nothing was stored; waiting for another value in the private chat.",
    );
    const again = await privateRequest(id, request.message.message_id);
    expect(textOf(again)).toContain(
      "That is the value vault_signalwire_token holds now, not a new one. Nothing was stored. Create a new Personal Access Token in the SignalWire dashboard and paste it here.",
    );
    expect(world.infra.vaultPlain()).not.toContain("vault_signalwire_token_new");
    world.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${id}` });
    // No _new was ever written, and the value sent was the one in use: the abort says only what is true.
    await waitForText(
      (t) => t === "⏹ aborted by @alice; nothing had changed: no new value was in the vault and no service was touched",
      OPS,
      ops,
    );
  });

  it("leaves no secret value in requests to the Bot API, files or logs", () => {
    const requests = JSON.stringify(
      world.tg.calls.map((c) => [c.method, c.params, c.method === "getUpdates" ? null : c.result]),
    );
    expect(leaks(everythingWritten(world.infra, [requests, world.output()]), secrets)).toEqual([]);
  });
});
