import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buttonsOf, completed, journalOf, press, promptOf, startRotation, textOf } from "../support/chat-driver.js";
import { ALICE, AUDIT, BOT, MALLORY, OPS, startChatWorld, type ChatWorld } from "../support/chat-world.js";

let world: ChatWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const isDigest = (m: { botId: number; message: { text?: string } }) =>
  m.botId === BOT && (m.message.text ?? "").startsWith("⏰ Daily secret check");

function writeManifest(w: ChatWorld, body: string) {
  writeFileSync(
    path.join(w.infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
    `secrets_manifest:\n${body}`,
  );
  w.infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "manifest for the digest");
}
/** A bot with SHUTDOWN_GRACE `grace` and an API token rotation paused inside its cycle_services command. */
async function pausedRotation(grace: string): Promise<{ w: ChatWorld; id: string }> {
  const w = (world = await startChatWorld({ SHUTDOWN_GRACE: grace }));
  await w.startBot();
  w.infra.touch("pause-cycle_services");
  const id = await startRotation(w, "/rotate api-token");
  await expect.poll(() => w.infra.exists("paused-cycle_services"), { timeout: 20_000 }).toBe(true);
  return { w, id };
}

/** Whether the bot, told to stop, is letting the running step of rotation `id` finish (a structured log line). */
const stoppingWithGrace = (w: ChatWorld, id: string) =>
  w
    .bot()
    .output()
    .split("\n")
    .some((line) => {
      try {
        const entry = JSON.parse(line) as { graceMs?: number; rotations?: string[] };
        return entry.graceMs !== undefined && (entry.rotations ?? []).includes(id);
      } catch {
        return false;
      }
    });

const remindersFile = (w: ChatWorld) => path.join(w.infra.stateDir, "reminders.json");
const lastDigestRun = (w: ChatWorld) =>
  (JSON.parse(readFileSync(remindersFile(w), "utf8")) as { lastRunAt: string }).lastRunAt;

describe("operating the bot", { timeout: 90_000 }, () => {
  it("catches up a missed daily digest once at start; its Rotate button opens the plan for operators only", async () => {
    world = await startChatWorld();
    writeManifest(
      world,
      `  vault_billing_api_token: {category: api_token, owner: "@billing-team", last_rotation: ${daysAgo(400)}}
  vault_telegram_bot_token: {category: telegram_bot_token, owner: "@alerts-oncall", last_rotation: ${daysAgo(350)}}
  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: ${daysAgo(10)}}
  vault_sentry_dsn: {category: sentry_dsn, owner: "@backend-team"}
`,
    );
    writeFileSync(
      remindersFile(world),
      JSON.stringify({ lastRunAt: new Date(Date.now() - 3 * 86_400_000).toISOString() }),
    );
    await world.startBot();
    const digest = await world.tg.waitForMessage((m) => isDigest(m) && m.message.chat.id === OPS);
    expect(textOf(digest)).toContain("1 secret overdue, 1 secret due soon");
    expect(buttonsOf(digest)).toEqual(["due|vault_billing_api_token", "due|vault_telegram_bot_token"]);
    expect(textOf(digest)).not.toContain("vault_postgres_app_password");

    const refused = world.tg.pressButton({
      from: MALLORY,
      chat: OPS,
      messageId: digest.message.message_id,
      data: "due|vault_billing_api_token",
    });
    const refusal = await world.tg.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === refused,
    );
    expect(refusal.params.text as string).toMatch(/Only rotabot operators/);

    world.tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: digest.message.message_id,
      data: "due|vault_billing_api_token",
    });
    const plan = await world.tg.waitForMessage(
      (m) => m.botId === BOT && m.message.chat.id === OPS && buttonsOf(m).some((b) => b.endsWith("|start")),
    );
    expect(textOf(plan)).toContain("vault_billing_api_token");

    // A restart after the made-up run sends no second digest.
    const ran = lastDigestRun(world);
    await world.killBot();
    await world.startBot();
    expect(lastDigestRun(world)).toBe(ran);
    expect(world.tg.messages(OPS, BOT).filter(isDigest)).toHaveLength(1);
  });

  it("sends nothing when nothing needs action, and records the run", async () => {
    world = await startChatWorld();
    writeManifest(
      world,
      `  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: ${daysAgo(10)}}
  vault_sentry_dsn: {category: sentry_dsn, owner: "@backend-team"}
`,
    );
    const before = new Date(Date.now() - 2 * 86_400_000).toISOString();
    writeFileSync(remindersFile(world), JSON.stringify({ lastRunAt: before }));
    await world.startBot();
    await expect.poll(() => lastDigestRun(world!), { timeout: 10_000 }).not.toBe(before);
    expect(world.output()).toContain("daily digest: nothing needs action, nothing sent");
    expect(world.tg.messages(OPS, BOT).filter(isDigest)).toEqual([]);
  });

  it("on SIGTERM lets a running command finish within the grace period, then stops before the next step; /resume finishes", async () => {
    const { w, id } = await pausedRotation("30s");
    const exited = w.bot().stop();
    // The command ends only once rotabot is stopping and waiting for it (its log says so, with the rotation).
    await expect.poll(() => stoppingWithGrace(w, id), { timeout: 20_000 }).toBe(true);
    w.infra.releasePaused("cycle_services");
    expect(await exited).toBe(0);
    const journal = journalOf(w, id);
    expect(journal.state).toBe("interrupted");
    expect(journal.steps.find((s) => s.id === "cycle_services")).toMatchObject({ state: "done", attempts: 1 });
    expect(journal.steps.find((s) => s.id === "verify_new")).toMatchObject({ state: "pending" });
    expect(w.auditText()).toContain(`[${id}] ⚠️ interrupted (rotabot stopped); resume with /resume ${id}`);

    await w.startBot();
    await w.tg.waitForMessage(
      (m) =>
        m.botId === BOT &&
        textOf(m).includes("rotabot restarted with rotations in flight") &&
        textOf(m).includes(`/resume ${id}`),
    );
    w.tg.userSends({ from: ALICE, chat: OPS, text: `/resume ${id}` });
    press(w, await promptOf(w, id, /This cannot be undone/), "g");
    await completed(w, "vault_billing_api_token");
    expect(journalOf(w, id).steps.find((s) => s.id === "cycle_services")!.attempts).toBe(1);
    expect(w.infra.vaultPlain()).not.toContain("_new");
  });

  it("on SIGTERM stops a command that outlives the grace period and journals the step as interrupted", async () => {
    const { w, id } = await pausedRotation("1s");
    expect(await w.bot().stop()).toBe(0);
    expect(journalOf(w, id).steps.find((s) => s.id === "cycle_services")!.state).toBe("interrupted");
    expect(w.tg.messages(AUDIT, BOT).map(textOf).join("\n")).toContain(
      `[${id}] ⚠️ interrupted during “Cycle services one by one” (rotabot stopped)`,
    );
  });
});
