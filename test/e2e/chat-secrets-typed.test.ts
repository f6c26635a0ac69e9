import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buttonsOf, completed, press, promptOf, startRotation, textOf } from "../support/chat-driver.js";
import { OLD_VALUES } from "../support/chat-fixture.js";
import { ALICE, BOB, BOT, MALLORY, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";
import { everythingWritten, leaks, OLD_BILLING, OLD_REPORTS } from "../support/rotation-fixture.js";

/** Secrets typed, pasted or printed where they do not belong (issue 14, items 2 to 4). */
let world: ChatWorld;
const secrets: string[] = [];
const VAULT = "infra/group_vars/all/vault.yml";
beforeAll(async () => {
  world = await startChatWorld();
  // The bot administers the ops group, as the README asks: it sees every message there and may delete them.
  world.tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE, BOB, MALLORY], bots: [BOT], adminBots: [BOT] });
  // A careless verify step: it prints the whole decrypted vault (as a debug task would), then fails.
  const runbookFile = world.infra.env.RUNBOOK_FILE;
  const runbook = parse(readFileSync(runbookFile, "utf8")) as { procedures: { id: string; steps: { id: string }[] }[] };
  const verify = runbook.procedures.find((p) => p.id === "api-token")!.steps.find((s) => s.id === "verify_new")!;
  Object.assign(verify, {
    argv: [
      "sh",
      "-c",
      'ansible-vault view --vault-password-file "$0" "$1"; while [ -e pause-verify_new ]; do sleep 0.1; done; exit 1',
      "{vault_password_file}",
      VAULT,
    ],
  });
  writeFileSync(runbookFile, stringify(runbook));
  secrets.push(...world.secrets, OLD_BILLING, OLD_REPORTS);
  await world.startBot();
}, 60_000);
afterAll(() => world?.stop());

const bot = (m: { botId: number }) => m.botId === BOT;
const nextInOps = (after: number, pattern: RegExp) =>
  world.tg.waitForMessage(
    (m) => bot(m) && m.message.chat.id === OPS && m.message.message_id > after && pattern.test(textOf(m)),
    20_000,
  );
/** Alice writes `text` in the ops group; resolves with the bot's warning, once her message is gone. */
async function warningFor(text: string, replyTo?: number): Promise<string> {
  const sent = world.tg.userSends({ from: ALICE, chat: OPS, text, ...(replyTo === undefined ? {} : { replyTo }) });
  const reply = await nextInOps(sent.message_id, /^⚠️ Your message held/);
  expect(world.tg.messages(OPS).find((m) => m.message.message_id === sent.message_id)?.deleted).toBe(true);
  return textOf(reply);
}
const auditSays = (line: string) =>
  expect.poll(() => world.auditText().split("\n"), { timeout: 10_000 }).toContain(line);
const auditJsonl = () => readFileSync(path.join(world.infra.stateDir, "audit.jsonl"), "utf8");
const exposures = () => auditJsonl().match(/"type":"secret_exposed"/g)?.length ?? 0;
/** The bot's next message in Alice's private chat after message `after`. */
const nextFromBot = (after: number, pattern = /./) =>
  world.tg.waitForMessage(
    (m) => bot(m) && m.message.chat.id === ALICE && m.message.message_id > after && pattern.test(textOf(m)),
    20_000,
  );

/** No form of any known secret in the Bot API requests, uploaded files, STATE_DIR, the checkout or the bot's log. */
function expectNoLeak() {
  const requests = JSON.stringify(
    world.tg.calls.map((c) => [c.method, c.params, c.method === "getUpdates" ? null : c.result]),
  );
  const documents = world.tg.documents().map((d) => d.content.toString("latin1"));
  expect(leaks(everythingWritten(world.infra, [requests, world.output(), ...documents]), secrets)).toEqual([]);
}

describe("a secret typed, pasted or printed in the wrong place is stopped", { timeout: 90_000 }, () => {
  it("item 2: an incident reason holding a vault value or the bot token is deleted, called exposed, and nothing starts", async () => {
    for (const value of [OLD_VALUES.vault_nats_password, world.token]) {
      expect(await warningFor(`/rotate vault_billing_api_token incident old token ${value} leaked`)).toBe(
        "⚠️ Your message held a secret rotabot knows (a vault value or a bot token). I deleted it. Treat it as compromised: rotate it in compromise mode, which refuses the old value first (/rotate <name> compromised <reason>; /age lists the names).",
      );
    }
    await auditSays(
      "⚠️ @alice sent a secret rotabot knows (a vault value or a bot token) in supergroup Akira Ops; the message was deleted. It counts as exposed.",
    );
    expect(auditJsonl().match(/"type":"secret_exposed"/g)).toHaveLength(2);
    expect(world.tg.messages(OPS).some((m) => bot(m) && textOf(m).startsWith("🔐 Plan"))).toBe(false);
    expect(readdirSync(path.join(world.infra.stateDir, "rotations"))).toEqual([]);
    expectNoLeak();
  });

  it("item 4: a value pasted in the group while the bot waits for it privately is deleted, called exposed, never stored; another is asked for", async () => {
    const id = await startRotation(world, "/rotate signalwire");
    const waiting = await nextInOps(0, /^🔑 Waiting for @alice to send the new value of vault_signalwire_token/);
    const exposed = "PTpastedInTheOpsGroup0123456789abcdef";
    secrets.push(exposed);
    expect(await warningFor(exposed, waiting.message.message_id)).toBe(
      "⚠️ Your message held the new value of vault_signalwire_token. I deleted it. It was not stored: it is exposed to everyone in this chat, so do not use it: revoke PAT …cdef in the SignalWire space now (dashboard, Personal Access Tokens), then create another. Send the new one to me in our private chat, where I take it in and delete it.",
    );
    await auditSays(
      "⚠️ @alice sent the new value of vault_signalwire_token in supergroup Akira Ops; the message was deleted. It counts as exposed.",
    );
    // The private request is still open: the next value sent there is the one rotated in.
    const pat = "PTsentPrivatelyAfterwards0123456789ab";
    secrets.push(pat);
    world.tg.userSends({ from: ALICE, chat: "private", text: pat });
    press(world, await promptOf(world, id, /revoke the old token/), "d");
    press(world, await promptOf(world, id, /Rename the new vault key/), "g");
    await completed(world, "vault_signalwire_token");
    expect(world.valueOf("vault_signalwire_token")).toBe(pat);
    expectNoLeak();
  });

  it("item 3: every vault value a step prints is redacted in the progress tail, the failure document, the command log and the bot's log", async () => {
    world.infra.touch("pause-verify_new");
    const id = await startRotation(world, "/rotate vault_billing_api_token");
    // While the step runs, its last lines show under the progress: the vault's keys, never their values.
    await world.tg.waitForMessage(
      (m) =>
        bot(m) &&
        textOf(m).startsWith(`🔐 Rotation ${id} of`) &&
        textOf(m).includes('vault_telegram_bot_token: "[redacted]"'),
      20_000,
    );
    world.infra.releasePaused("verify_new");
    const failed = await promptOf(world, id, /Verify all services use the new secret failed/);
    const document = await world.tg.waitForMessage(
      (m) => bot(m) && m.document !== undefined && m.document.filename.startsWith(id),
      20_000,
    );
    const printed = document.document!.content.toString("utf8");
    for (const key of [
      "vault_nats_password",
      "vault_sentry_dsn",
      "vault_reports_api_token",
      "vault_billing_api_token_new",
    ])
      expect(printed).toContain(`${key}: "[redacted]"`);
    const log = readFileSync(path.join(world.infra.stateDir, "logs", id, "verify_new.log"), "utf8");
    expect(log).toContain('vault_signalwire_token: "[redacted]"');
    press(world, failed, "a");
    await nextInOps(
      failed.message.message_id,
      /^⏹ aborted by @alice; vault_billing_api_token_new removed from the vault/,
    );
    // Told it is over, the operator may start again at once: the secret is no longer locked.
    expect(existsSync(path.join(world.infra.stateDir, "locks", "vault_billing_api_token.lock"))).toBe(false);
    expectNoLeak();
  });

  it("a value added to the vault while rotabot runs is caught too", async () => {
    // Someone adds a key with ansible-vault while the bot is up; the bot read the vault at start.
    const added = "addedWhileRunning0123456789abcdefXYZ";
    secrets.push(added);
    const vault = path.join(world.infra.infraDir, VAULT);
    const password = world.infra.env.VAULT_PASSWORD_FILE;
    const plain = `${world.infra.vaultPlain()}vault_added_later: "${added}"\n`;
    execFileSync("ansible-vault", ["encrypt", "--vault-password-file", password, "--output", vault, "-"], {
      input: plain,
    });
    try {
      expect(await warningFor(`/rotate vault_billing_api_token incident ${added} leaked`)).toMatch(
        /^⚠️ Your message held a secret rotabot knows/,
      );
      expectNoLeak();
    } finally {
      world.infra.git("checkout", "--", VAULT);
    }
  });

  it("a word sent privately while a token is awaited is refused and never becomes a secret; /cancel closes the request", async () => {
    const before = exposures();
    const id = await startRotation(world, "/rotate signalwire");
    const request = await world.tg.waitForMessage(
      (m) => bot(m) && m.message.chat.id === ALICE && buttonsOf(m).some((b) => b.startsWith(`rt|${id}|`)),
      20_000,
    );
    world.tg.userSends({ from: ALICE, chat: "private", text: "cancel" });
    await nextFromBot(request.message.message_id, /That does not look like a SignalWire Personal Access Token/);
    // "cancel" failed the format check: it is no known secret, so /cancel is a command, not a leak.
    const cancel = world.tg.userSends({ from: ALICE, chat: OPS, text: "/cancel" });
    // No value was stored, so the abort says nothing changed (not "_new removed").
    await nextInOps(
      cancel.message_id,
      /^⏹ aborted by @alice; nothing had changed: no new value was in the vault and no service was touched$/,
    );
    expect(world.tg.messages(OPS).find((m) => m.message.message_id === cancel.message_id)?.deleted).toBeFalsy();
    // The abort closed the request: a private message is an ordinary one again, not a value.
    const later = world.tg.userSends({ from: ALICE, chat: "private", text: "please cancel that" });
    expect(textOf(await nextFromBot(later.message_id))).toBe("I act on commands. Send /help for the list.");
    expect(exposures()).toBe(before);
    expectNoLeak();
  });
});
