import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { buttonsOf, textOf } from "../support/chat-driver.js";
import { ALICE, AUDIT, BOB, BOT, OPS } from "../support/chat-world.js";
import { useChatWorld } from "../support/use-chat-world.js";

const world = useChatWorld();

const today = new Date().toISOString().slice(0, 10);
const daysSince = (date: string) => Math.round((Date.parse(today) - Date.parse(date)) / 86_400_000);
const lastId = () =>
  Math.max(
    0,
    ...world()
      .tg.messages(OPS)
      .map((m) => m.message.message_id),
  );
/** The bot's next new message in the ops chat after message `after`. */
const nextReply = (after: number, pattern = /./) =>
  world().tg.waitForMessage(
    (m) => m.botId === BOT && m.message.chat.id === OPS && m.message.message_id > after && pattern.test(textOf(m)),
  );
/** Sends a command to the ops chat and waits for the bot's answer. */
async function ask(text: string, pattern?: RegExp, from = ALICE) {
  const after = lastId();
  world().tg.userSends({ from, chat: OPS, text });
  return nextReply(after, pattern);
}
const pressOn = (message: StoredMessage, data: string, from = ALICE) =>
  world().tg.pressButton({ from, chat: OPS, messageId: message.message.message_id, data });
const answerTo = async (queryId: string) =>
  (await world().tg.waitForCall((c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === queryId))
    .params.text;
const cancelPlan = async (plan: StoredMessage) => {
  pressOn(
    plan,
    buttonsOf(plan).find((b) => b.endsWith("|cancel"))!,
  );
  await world().tg.waitForMessage(
    (m) => m.message.message_id === plan.message.message_id && textOf(m).includes("Cancelled by"),
  );
};

describe("the plan card and /plan", { timeout: 90_000 }, () => {
  it("shows the steps as titles, the one that cannot be undone marked, and the commands one press away", async () => {
    const plan = await ask("/rotate api-token", /^🔐 Plan/);
    expect(textOf(plan)).toBe(
      [
        "🔐 Plan: rotate vault_billing_api_token (API token (general rolling procedure))",
        `Last rotated: 2025-01-01 (${daysSince("2025-01-01")} days ago) · owner: @billing-team`,
        "Environment: staging",
        "The general rolling procedure, for any manifest entry of category api_token.",
        "",
        "▫️ 1. Generate the new secret",
        "▫️ 2. Add it to vault with a _new suffix",
        "▫️ 3. Update affected services so both old and new values are accepted",
        "▫️ 4. Cycle services one by one",
        "▫️ 5. Verify all services use the new secret",
        "⚠️ 6. Remove the old secret from vault and rename _new to the canonical name (cannot be undone)",
        "▫️ 7. Drop the old token from the API gateway, so every consumer refuses it",
        "▫️ 8. Post-rotation smoke test",
        "▫️ 9. Update _secrets_manifest.yml last_rotation with the rotation date",
        "▫️ 10. Add a CHANGELOG.md entry (key, rotation id, operator; never the value)",
        "▫️ 11. Commit vault, manifest and changelog",
        "▫️ 12. Notify the relevant service owner",
        "",
        "The commands behind each step: 📜 Show commands, or /plan vault_billing_api_token.",
        "Only @alice can start it; this plan expires in 15 minutes.",
      ].join("\n"),
    );
    expect(buttonsOf(plan)).toEqual([
      expect.stringMatching(/^plan\|[0-9a-f]{8}\|101\|start$/),
      expect.stringMatching(/^plan\|[0-9a-f]{8}\|101\|cancel$/),
      "cmd|vault_billing_api_token",
      "pre|vault_billing_api_token",
    ]);

    const after = lastId();
    pressOn(plan, "cmd|vault_billing_api_token", BOB);
    const commands = await nextReply(after, /^📜/);
    expect(textOf(commands)).toBe(
      [
        "📜 Commands for rotating vault_billing_api_token (API token (general rolling procedure))",
        "Paths are filled in; values never appear here (a step reads <new value> from the vault when it runs). A step without a command is rotabot's own or asks you when it comes.",
        "",
        "▫️ 1. Generate the new secret",
        "      40 random characters (urlsafe) from node:crypto",
        "▫️ 2. Add it to vault with a _new suffix",
        "▫️ 3. Update affected services so both old and new values are accepted",
        "      bin/fixture-step.sh accept_both",
        "▫️ 4. Cycle services one by one",
        "      bin/fixture-step.sh cycle_services",
        "      ℹ️ One by one is Ansible's rolling update, not --forks 1: the playbook's cycle play runs with `serial: 1` and a health check per host (max_fail_percentage 0), so a host whose client is not served stops the rollout before the next one switches (docs/runbook.md, the contract).",
        "▫️ 5. Verify all services use the new secret",
        "      bin/fixture-step.sh verify_new",
        "⚠️ 6. Remove the old secret from vault and rename _new to the canonical name (cannot be undone)",
        "▫️ 7. Drop the old token from the API gateway, so every consumer refuses it",
        "      bin/fixture-step.sh drop_old",
        "      📖 The seed runbook says: Old secret revoked or removed. (completion checklist)",
        "      ℹ️ The seed's general procedure removes the old value from the vault only; the gateway accepts whatever its list holds, so the old token kept working after the rotation. This step rewrites the list with the canonical token alone and checks that the gateway accepts exactly that one.",
        "▫️ 8. Post-rotation smoke test",
        "      bin/fixture-step.sh smoke_test",
        "      📖 The seed runbook says: ansible-playbook -i infra/inventory/staging.yml infra/playbooks/smoketest.yml --vault-password-file ~/.akira-vault-pass.txt",
        "      ℹ️ Runs in each environment: after the rollout there, before the gate into the next one, and once more at the end, after the old value is gone.",
        "▫️ 9. Update _secrets_manifest.yml last_rotation with the rotation date",
        "▫️ 10. Add a CHANGELOG.md entry (key, rotation id, operator; never the value)",
        "▫️ 11. Commit vault, manifest and changelog",
        "      git commit",
        "▫️ 12. Notify the relevant service owner",
      ].join("\n"),
    );
    expect(textOf(commands)).not.toMatch(/\{[a-z_]+\}/);
    // The plan is still Alice's to start or cancel.
    await cancelPlan(plan);
  });

  // Issue 21, point 5: the plan card's 🧪 Preflight is `rotabot preflight` from the chat.
  it("rehearses the rotation from the plan card's Preflight, for any operator, and changes nothing", async () => {
    const plan = await ask("/rotate api-token", /^🔐 Plan/);
    const after = lastId();
    const pressed = pressOn(plan, "pre|vault_billing_api_token", BOB);
    expect(await answerTo(pressed)).toBe(
      "Preflight of vault_billing_api_token started; it changes nothing. The verdicts follow here in a few minutes.",
    );
    const verdicts = await nextReply(after, /^🧪 Preflight/);
    // This world is set up as production should be: the chat rights are checked and pass.
    expect(textOf(verdicts)).toMatch(
      /^🧪 Preflight of vault_billing_api_token: passed\. A rotation would start, and every step rehearsed \(--check --diff\)\. Nothing was changed\.\nThe diffs: rotabot preflight vault_billing_api_token on the ops host\.\n/,
    );
    expect(textOf(verdicts)).toMatch(/\n✔ ops chat rights\n✔ audit chat$/);
    expect(textOf(verdicts)).toContain("✔ secret vault_billing_api_token\n");
    expect(textOf(verdicts)).toContain("⚠ deploy guard wiring: the guard tests for .deploy-in-progress");
    expect(world().infra.git("status", "--porcelain")).toBe("");
    expect(world().infra.exists("calls.log")).toBe(false);
    await cancelPlan(plan);
  });

  it("/plan <name> shows the commands without starting anything; it is in /help and the command menu", async () => {
    const nats = await ask("/plan nats", /^📜/);
    expect(textOf(nats)).toMatch(/^📜 Commands for rotating vault_nats_password \(NATS password\)\n/);
    // Where the runbook runs something other than the seed's words, the plan shows both and why.
    expect(textOf(nats)).toContain(
      "▫️ 4. Reload NATS\n      bin/fixture-step.sh reload\n      📖 The seed runbook says: docker exec nats nats-server -sl\n      ℹ️ The seed's command does not reload: nats-server 2.9.10 reads -sl as --signal",
    );
    expect(buttonsOf(nats)).toEqual([]);

    const typo = await ask("/plan postgress");
    expect(textOf(typo)).toBe("I have no procedure for “postgress”. Did you mean:");
    expect(buttonsOf(typo)).toEqual(["cmd|vault_postgres_app_password"]);

    const help = await ask("/help");
    expect(textOf(help)).toContain(
      "/plan – A rotation's steps and exact commands, without starting it: /plan nats\n/status",
    );
    const menu = world().tg.calls.find((c) => c.method === "setMyCommands")!.params.commands as string;
    expect(JSON.stringify(menu)).toContain("plan");
  });

  it("tells another operator who may press Start on a plan, and audits the attempt", async () => {
    const plan = await ask("/rotate signalwire", /^🔐 Plan/);
    const start = buttonsOf(plan).find((b) => b.endsWith("|start"))!;
    const refused = pressOn(plan, start, BOB);
    expect(await answerTo(refused)).toBe(
      "Only @alice, who asked for this plan, can press its buttons. To rotate vault_signalwire_token yourself, send /rotate vault_signalwire_token.",
    );
    const audit = await world().tg.waitForMessage(
      (m) => m.botId === BOT && m.message.chat.id === AUDIT && textOf(m).includes("on the plan of @alice"),
    );
    expect(textOf(audit)).toContain(
      "⛔ vault_signalwire_token: ▶️ Start on the plan of @alice pressed by @bob (id 102), refused: only @alice can press it",
    );
    expect(textOf(plan)).not.toContain("Started");
    await cancelPlan(plan);
  });

  it("/rotate alone offers the secrets as buttons, most urgent first; one press opens its plan", async () => {
    const picker = await ask("/rotate");
    expect(textOf(picker)).toBe("Which secret? Most urgent first; press one to see its plan.");
    expect(picker.message.reply_markup!.inline_keyboard.map((row) => row.map((b) => b.text))).toEqual([
      [`🔴 vault_billing_api_token · overdue by ${daysSince("2025-01-01") - 181} days`],
      [`🔴 vault_postgres_app_password · overdue by ${daysSince("2025-01-01") - 365} days`],
      [`🔴 vault_signalwire_token · overdue by ${daysSince("2025-01-01") - 365} days`],
      [`🔴 vault_telegram_bot_token · overdue by ${daysSince("2025-01-01") - 365} days`],
      ["⚪ vault_nats_password · no schedule"],
      ["⚪ vault_sentry_dsn · no schedule"],
    ]);
    const after = lastId();
    pressOn(picker, "due|vault_nats_password");
    await cancelPlan(await nextReply(after, /^🔐 Plan: rotate vault_nats_password/));
  });

  it("answers an unknown name with the closest secrets as buttons, or every secret when none is close", async () => {
    const typo = await ask("/rotate postgress");
    expect(textOf(typo)).toBe(
      "I have no procedure for “postgress”. Did you mean one of these? Press one to see its plan, or send /rotate alone for every secret.",
    );
    expect(buttonsOf(typo)).toEqual(["due|vault_postgres_app_password"]);
    const unknown = await ask("/rotate nosuchsecret");
    expect(textOf(unknown)).toBe(
      "I have no procedure for “nosuchsecret”, and no secret has a name like it. Which secret? Most urgent first; press one to see its plan.",
    );
    expect(buttonsOf(unknown)).toHaveLength(6);
  });

  it("says a secret was rotated today and asks whether to rotate it again", async () => {
    await world().walk("/rotate api-token");
    const plan = await ask("/rotate api-token", /^🔐 Plan/);
    expect(textOf(plan)).toMatch(
      new RegExp(
        `\nLast rotated: ${today} \\(today\\) · owner: @billing-team\n🔁 Rotated today — rotate again\\? It is not due until \\d{4}-\\d{2}-\\d{2}\\.\nEnvironment: staging\n`,
      ),
    );
    await cancelPlan(plan);
  });

  it("names an unreadable manifest and its fix in /plan, as /rotate does, instead of an empty list", async () => {
    const manifest = path.join(world().infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml");
    const good = readFileSync(manifest, "utf8");
    writeFileSync(manifest, "secrets_manifest: [\n");
    try {
      const fix = (again: string) =>
        new RegExp(
          `^The manifest cannot be read: ${manifest}:\\d+: YAML syntax error.*\\. Fix it \\(rotabot age shows every problem\\) and ${again} again\\.$`,
        );
      // telegram names its secret in the runbook: it is refused all the same, before anything runs.
      expect(textOf(await ask("/plan telegram"))).toMatch(fix("send /plan"));
      expect(textOf(await ask("/plan api-token"))).toMatch(fix("send /plan"));
      expect(textOf(await ask("/rotate api-token"))).toMatch(fix("send /rotate"));
    } finally {
      writeFileSync(manifest, good);
    }
  });
});
