import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Day } from "../../src/rotation-day/create-day-journal.js";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { buttonsOf, textOf } from "../support/chat-driver.js";
import { OLD_VALUES } from "../support/chat-fixture.js";
import { ALICE, BOT, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";
import { everythingWritten, leaks, OLD_BILLING } from "../support/rotation-fixture.js";

let world: ChatWorld;
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  world = await startChatWorld();
  await world.startBot();
}, 60_000);
afterAll(() => world?.stop());

/** Cards already answered, across the tests of this file (they share one chat). */
const handled = new Set<string>();

/**
 * Answers every card of the day as the operator would (a failure: Abort, which skips it) until the
 * day's summary. A request for a value at its turn is answered with `pat`; without one it fails
 * the test (the value was given up front).
 */
async function answerUntilSummary(after: number, pat?: string | ((card: string) => string)): Promise<string[]> {
  const { tg } = world;
  const seen = (m: StoredMessage) => `${m.message.chat.id}:${m.message.message_id}`;
  const decisions: string[] = [];
  for (;;) {
    const next = await tg.waitForMessage((m) => {
      if (m.botId !== BOT || m.deleted || handled.has(seen(m))) return false;
      if (m.message.chat.id === OPS && textOf(m).startsWith("🏁 Rotation day")) return m.message.message_id > after;
      return buttonsOf(m).some((b) => b.startsWith("rt|"));
    }, 180_000);
    handled.add(seen(next));
    if (textOf(next).startsWith("🏁 Rotation day")) return decisions;
    decisions.push(textOf(next).split("\n")[0]!);
    const buttons = buttonsOf(next);
    const press = (suffix: string) =>
      tg.pressButton({
        from: ALICE,
        chat: next.message.chat.id,
        messageId: next.message.message_id,
        data: buttons.find((b) => b.endsWith(`|${suffix}`))!,
      });
    if (buttons.some((b) => b.endsWith("|y"))) {
      if (pat === undefined) throw new Error(`asked at its turn for a value given up front: ${textOf(next)}`);
      tg.userSends({ from: ALICE, chat: "private", text: typeof pat === "string" ? pat : pat(textOf(next)) });
    } else if (buttons.some((b) => b.endsWith("|r")) && buttons.some((b) => b.endsWith("|a"))) press("a");
    else if (buttons.some((b) => b.endsWith("|g"))) press("g");
    else if (buttons.some((b) => b.endsWith("|d"))) press("d");
    else throw new Error(`unexpected card: ${textOf(next)}`);
  }
}

/** Sends /rotate due and waits for the day's plan card; `before` is the ops chat's last message id then. */
async function askForDay(): Promise<{ card: StoredMessage; before: number }> {
  const { tg } = world;
  // The newest message id, not a count: messages are deleted (a progress message moved down).
  const before = Math.max(0, ...tg.messages(OPS).map((m) => m.message.message_id));
  tg.userSends({ from: ALICE, chat: OPS, text: "/rotate due" });
  const card = await tg.waitForMessage(
    (m) => m.botId === BOT && m.message.message_id > before && buttonsOf(m).some((b) => /^day\|.*\|start$/.test(b)),
    180_000,
  );
  return { card, before };
}

const pressStart = (card: StoredMessage) =>
  world.tg.pressButton({
    from: ALICE,
    chat: OPS,
    messageId: card.message.message_id,
    data: buttonsOf(card).find((b) => b.endsWith("|start"))!,
  });

/** The day's up-front question for `key` in Alice's private chat, newer than `after` (a message id there). */
const upFrontQuestion = (key: string, after = 0) =>
  world.tg.waitForMessage(
    (m) =>
      m.botId === BOT &&
      m.message.chat.id === ALICE &&
      m.message.message_id > after &&
      textOf(m).includes(`: ${key}\n`) &&
      buttonsOf(m).some((b) => /^day\|.*\|later$/.test(b)),
    180_000,
  );
/** Writes the manifest (which secrets are due) and commits it, as a team member would. */
function commitManifest(manifest: string, message: string): void {
  writeFileSync(path.join(world.infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"), manifest);
  world.infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "--allow-empty", "-qam", message);
}

/** A message (new or edited) in the ops chat that starts with `start`. */
const opsLine = (start: string) =>
  world.tg.waitForMessage((m) => m.message.chat.id === OPS && textOf(m).startsWith(start), 60_000);
/** /rotate due, Start, and the day's first up-front question (for `key`) in Alice's private chat. */
async function startDay(key: string): Promise<{ before: number; question: StoredMessage }> {
  const { card, before } = await askForDay();
  const privateBefore = Math.max(0, ...world.tg.messages(ALICE, BOT).map((m) => m.message.message_id));
  pressStart(card);
  return { before, question: await upFrontQuestion(key, privateBefore) };
}
const privateReply = (after: number, pattern: RegExp) =>
  world.tg.waitForMessage(
    (m) => m.botId === BOT && m.message.chat.id === ALICE && m.message.message_id > after && pattern.test(textOf(m)),
    60_000,
  );

/** What the bot wrote in the ops chat and in Alice's private chat (not her own messages). */
const botTexts = () =>
  [...world.tg.messages(OPS), ...world.tg.messages(ALICE, BOT)].filter((m) => m.message.from?.id === BOT).map(textOf);

const dayFile = () => {
  const dir = path.join(world.infra.stateDir, "days");
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .map((n) => JSON.parse(readFileSync(path.join(dir, n), "utf8")) as Day)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]!;
};

describe("/rotate due: a rotation day in the ops chat", { timeout: 600_000 }, () => {
  it("runs every due secret after one Start, with one progress message, cards only for decisions, and a failure stopping only that one", async () => {
    const { tg, infra } = world;
    commitManifest(
      `secrets_manifest:
  vault_billing_api_token: {category: api_token, owner: "@billing-team", last_rotation: 2025-01-01}
  vault_telegram_bot_token: {category: telegram_bot_token, owner: "@alerts-oncall", last_rotation: ${today}}
  vault_signalwire_token: {category: signalwire_pat, owner: "@voice-team", last_rotation: 2025-01-01}
  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: 2025-01-01}
  vault_nats_password: {category: nats_password, owner: "@platform-team"}
  vault_sentry_dsn: {category: sentry_dsn, owner: "@backend-team"}
`,
      "three secrets due",
    );
    // One injected failure: the PostgreSQL rotation's first service step fails; Alice aborts it (skip).
    const failing = "deploy_backend";
    writeFileSync(path.join(infra.infraDir, `fail-${failing}`), "FATAL: could not connect\n");
    const { card: plan, before: before } = await askForDay();
    expect([...textOf(plan).matchAll(/^\d\. (\S+) /gm)].map((m) => m[1])).toEqual([
      "vault_signalwire_token",
      "vault_postgres_app_password",
      "vault_billing_api_token",
    ]);
    pressStart(plan);
    await tg.waitForMessage(
      (m) => m.message.message_id === plan.message.message_id && /Started as rotation day day-\S+/.test(textOf(m)),
      180_000,
    );

    // Before the first rotation, the PAT made by hand is asked in the private chat (the ops chat
    // says so); a value of the wrong shape is refused and nothing kept; the right one is held.
    await opsLine(
      "🔑 Before the first rotation: waiting for @alice to send 1 credential made by hand (vault_signalwire_token)",
    );
    const question = await upFrontQuestion("vault_signalwire_token");
    expect(textOf(question)).toContain("credential 1 of 1");
    // Pasted in the group by mistake: deleted there, and the advice is the runbook's for this secret.
    const exposed = "PTexposedDayToken0123456789abcdZZYX";
    tg.userSends({ from: ALICE, chat: OPS, text: exposed });
    await opsLine(
      "⚠️ Your message held the new value of vault_signalwire_token. I deleted it. It was not stored: it is exposed to everyone in this chat, so do not use it: revoke PAT …ZZYX in the SignalWire space now",
    );
    tg.userSends({ from: ALICE, chat: "private", text: "not-a-pat" });
    const refusal = await privateReply(question.message.message_id, /^Nothing was kept: that does not look like/);
    // The value sent as a reply to that refusal is the day's, not passed on to anything else.
    const pat = "PTchatDayToken0123456789abcdefQRST";
    tg.userSends({ from: ALICE, chat: "private", text: pat, replyTo: refusal.message.message_id });
    await privateReply(question.message.message_id, /^🔐 Kept for vault_signalwire_token, ends in …QRST/);
    await opsLine(
      "🔑 @alice gave 1 of 1 credential made by hand up front (vault_signalwire_token …QRST). The rotations start.",
    );
    // The PAT's rotation takes the held value: nobody is asked for it at its turn.
    const decisions = await answerUntilSummary(before);
    expect(
      tg
        .messages(OPS)
        .map(textOf)
        .filter((t) => t.includes("Waiting for @alice to send the new value")),
    ).toEqual([]);
    const summary = tg.messages(OPS).find((m) => m.botId === BOT && textOf(m).startsWith("🏁 Rotation day"))!;
    expect(textOf(summary)).toMatch(
      /^🏁 Rotation day day-\S+: 2 of 3 rotated; 1 still due[^\n]*\n✅ vault_signalwire_token: completed in \d+\.\d min \(rotation \S+\)\n⤼ vault_postgres_app_password: skipped in \d+\.\d min \(rotation \S+\): [^\n]+\n✅ vault_billing_api_token: completed in \d+\.\d min \(rotation \S+\)$/,
    );

    // One progress message for the day (edited in place), none per rotation, no completion messages.
    const mine = tg.messages(OPS).filter((m) => m.botId === BOT && m.message.message_id > before);
    expect(mine.filter((m) => textOf(m).startsWith("🗓 Rotation day day-"))).toHaveLength(1);
    expect(mine.filter((m) => /^🔐 Rotation \d{8}/.test(textOf(m)))).toEqual([]);
    expect(mine.filter((m) => textOf(m).includes("Rotation complete"))).toEqual([]);
    // Cards only where a decision was needed: the plan, each prompt, the failure's log, the summary.
    expect(decisions.length).toBeGreaterThan(0);

    const day = dayFile();
    expect(day.entries.map((e) => [e.key, e.outcome])).toEqual([
      ["vault_signalwire_token", "completed"],
      ["vault_postgres_app_password", "skipped"],
      ["vault_billing_api_token", "completed"],
    ]);
    expect(world.valueOf("vault_signalwire_token")).toBe(pat);
    expect(world.valueOf("vault_postgres_app_password")).toBe(OLD_VALUES.vault_postgres_app_password);
    const billing = world.valueOf("vault_billing_api_token")!;
    expect(billing).not.toBe(OLD_BILLING);
    expect(infra.vaultPlain()).not.toMatch(/_new:/);
    expect(
      leaks(everythingWritten(infra, [world.auditText(), world.output(), ...botTexts()]), [
        pat,
        billing,
        ...world.secrets,
      ]),
    ).toEqual([]);
  });
  it("resumes a day a restart interrupted: /rotate due offers it, and its rotation in flight is resumed, not started again", async () => {
    const { tg, infra } = world;
    commitManifest(
      `secrets_manifest:
  vault_billing_api_token: {category: api_token, owner: "@billing-team", last_rotation: 2025-01-01}
  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: 2025-01-01}
`,
      "two secrets due again",
    );
    rmSync(path.join(infra.infraDir, "fail-deploy_backend"), { force: true });
    const { card: plan, before: before } = await askForDay();
    pressStart(plan);
    // The first card of the first rotation (PostgreSQL's maintenance window): the bot dies there.
    await tg.waitForMessage(
      (m) => m.botId === BOT && m.message.message_id > before && buttonsOf(m).some((b) => b.startsWith("rt|")),
      180_000,
    );
    const interrupted = dayFile();
    expect(interrupted.state).toBe("running");
    const inFlight = interrupted.entries[0]!.rotationId!;
    expect(inFlight).toMatch(/^\d{8}-\d{4}-[0-9a-f]{4}$/);
    await world.killBot();
    await world.startBot();

    const { card: resume, before: after } = await askForDay();
    expect(textOf(resume)).toContain(`Rotation day ${interrupted.id} (started by @alice) did not finish`);
    pressStart(resume);
    await answerUntilSummary(after);
    const ended = dayFile();
    expect(ended.id).toBe(interrupted.id);
    expect(ended.entries.map((e) => [e.key, e.outcome])).toEqual([
      ["vault_postgres_app_password", "completed"],
      ["vault_billing_api_token", "completed"],
    ]);
    expect(ended.entries[0]!.rotationId).toBe(inFlight);
    expect(infra.vaultPlain()).not.toMatch(/_new:/);
  });

  it("names a value given up front that no rotation took, with what to revoke, and keeps it out of every file", async () => {
    const { tg, infra } = world;
    commitManifest(
      `secrets_manifest:
  vault_signalwire_token: {category: signalwire_pat, owner: "@voice-team", last_rotation: 2025-01-01}
`,
      "the PAT due",
    );
    const { before, question: question } = await startDay("vault_signalwire_token");
    // A deploy starts while Alice makes the PAT: the deploy guard refuses the rotation at its turn.
    const marker = path.join(infra.infraDir, ".deploy-in-progress");
    writeFileSync(marker, "deploy of the backend\n");
    const pat = "PTunusedDayToken0123456789abcdWXYZ";
    tg.userSends({ from: ALICE, chat: "private", text: pat });
    await privateReply(question.message.message_id, /^🔐 Kept for vault_signalwire_token, ends in …WXYZ/);
    await answerUntilSummary(before);
    rmSync(marker, { force: true });
    const summary = tg
      .messages(OPS)
      .filter((m) => m.botId === BOT && textOf(m).startsWith("🏁 Rotation day"))
      .at(-1)!;
    expect(textOf(summary)).toContain(
      "⚠ The value @alice gave for vault_signalwire_token (…WXYZ) was not used: revoke PAT …WXYZ in the SignalWire space",
    );
    expect(dayFile().entries.map((e) => [e.key, e.outcome])).toEqual([["vault_signalwire_token", "not_started"]]);
    expect(infra.vaultPlain()).not.toContain(pat);
    expect(
      leaks(everythingWritten(infra, [world.auditText(), world.output(), ...botTexts()]), [pat, ...world.secrets]),
    ).toEqual([]);
  });
  it("leaves a credential to its turn on ⏭: the rotation then asks for it in the private chat as usual", async () => {
    const { tg } = world;
    commitManifest(
      `secrets_manifest:
  vault_signalwire_token: {category: signalwire_pat, owner: "@voice-team", last_rotation: 2025-01-01}
`,
      "the PAT due again",
    );
    const { before, question: question } = await startDay("vault_signalwire_token");
    tg.pressButton({
      from: ALICE,
      chat: ALICE,
      messageId: question.message.message_id,
      data: buttonsOf(question).find((b) => b.endsWith("|later"))!,
    });
    await opsLine(
      "🔑 @alice gave 0 of 1 credential made by hand up front; the rest is asked at its turn. The rotations start.",
    );
    const pat = "PTlaterDayToken0123456789abcdLMNO";
    const decisions = await answerUntilSummary(before, pat);
    expect(decisions.some((d) => d.startsWith("🔑 vault_signalwire_token"))).toBe(true);
    expect(world.valueOf("vault_signalwire_token")).toBe(pat);
  });
  it("names a value given up front that a restart lost, with what to revoke, and asks for it again at its turn", async () => {
    const { tg } = world;
    commitManifest(
      `secrets_manifest:
  vault_signalwire_token: {category: signalwire_pat, owner: "@voice-team", last_rotation: 2025-01-01}
  vault_sentry_dsn: {category: sentry_dsn, owner: "@backend-team", rotate_every: 12 months, last_rotation: 2025-01-01}
`,
      "the PAT and the DSN due",
    );
    const { question: first } = await startDay("vault_signalwire_token");
    expect(textOf(first)).toContain("credential 1 of 2");
    const lostPat = "PTlostDayToken0123456789abcdeLOST";
    tg.userSends({ from: ALICE, chat: "private", text: lostPat });
    await upFrontQuestion("vault_sentry_dsn", first.message.message_id);
    // The journal holds the kept value's ending (never the value); the bot dies before the second answer.
    const journaled = dayFile();
    expect(journaled.entries[0]!.heldUpFront).toMatchObject({ ending: "LOST" });
    expect(JSON.stringify(journaled)).not.toContain(lostPat);
    await world.killBot();
    await world.startBot();
    const { card: resume, before } = await askForDay();
    pressStart(resume);
    await tg.waitForMessage(
      (m) =>
        m.message.message_id === resume.message.message_id &&
        textOf(m).includes(
          "⚠ The value @alice gave for vault_signalwire_token (…LOST) was lost in a restart of rotabot (it is asked again at its turn): revoke PAT …LOST in the SignalWire space",
        ),
      60_000,
    );
    // Each value is asked at its turn now: a new PAT, and the DSN.
    const pat = "PTagainDayToken0123456789abcdAGIN";
    const dsn = "https://00112233445566778899aabbccddeeff@o1.ingest.sentry.io/4242";
    await answerUntilSummary(before, (card) => (card.includes("vault_sentry_dsn") ? dsn : pat));
    expect(dayFile().entries.map((e) => [e.key, e.outcome])).toEqual([
      ["vault_signalwire_token", "completed"],
      ["vault_sentry_dsn", "completed"],
    ]);
    expect(world.valueOf("vault_signalwire_token")).toBe(pat);
    expect(
      leaks(everythingWritten(world.infra, [world.auditText(), world.output(), ...botTexts()]), [lostPat, pat, dsn]),
    ).toEqual([]);
  });
});
