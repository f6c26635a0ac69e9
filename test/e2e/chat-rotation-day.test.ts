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

/** Answers every card of the day as the operator would (a failure: Abort, which skips it) until the day's summary. */
async function answerUntilSummary(after: number, pat = ""): Promise<string[]> {
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
    if (buttons.some((b) => b.endsWith("|y"))) tg.userSends({ from: ALICE, chat: "private", text: pat });
    else if (buttons.some((b) => b.endsWith("|r")) && buttons.some((b) => b.endsWith("|a"))) press("a");
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
    writeFileSync(
      path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
      `secrets_manifest:
  vault_billing_api_token: {category: api_token, owner: "@billing-team", last_rotation: 2025-01-01}
  vault_telegram_bot_token: {category: telegram_bot_token, owner: "@alerts-oncall", last_rotation: ${today}}
  vault_signalwire_token: {category: signalwire_pat, owner: "@voice-team", last_rotation: 2025-01-01}
  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: 2025-01-01}
  vault_nats_password: {category: nats_password, owner: "@platform-team"}
  vault_sentry_dsn: {category: sentry_dsn, owner: "@backend-team"}
`,
    );
    infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "three secrets due");
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

    const pat = "PTchatDayToken0123456789abcdefQRST";
    const decisions = await answerUntilSummary(before, pat);
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
      leaks(everythingWritten(infra, [world.auditText(), ...tg.messages(OPS).map(textOf)]), [
        pat,
        billing,
        ...world.secrets,
      ]),
    ).toEqual([]);
  });
  it("resumes a day a restart interrupted: /rotate due offers it, and its rotation in flight is resumed, not started again", async () => {
    const { tg, infra } = world;
    writeFileSync(
      path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
      `secrets_manifest:
  vault_billing_api_token: {category: api_token, owner: "@billing-team", last_rotation: 2025-01-01}
  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: 2025-01-01}
`,
    );
    infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "two secrets due again");
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
});
