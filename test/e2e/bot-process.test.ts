import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { startFakeBotApi, type FakeBotApi, type StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { daysAgo, makeInfraDir } from "../support/infra-fixture.js";
import { rotabotNode, SHIPPED_RUNBOOK } from "../support/paths.js";
import { spawnBot, testEnv, type BotProcess } from "../support/run-rotabot.js";

const BOT_ID = 7001;
const OPS = -1001000000001;
const AUDIT = -1001000000002;
const FOREIGN = -1001000000099;
const ALICE = 101; // operator
const MALLORY = 666; // stranger

const MANIFEST = `secrets_manifest:
  vault_telegram_bot_token:
    category: telegram_bot_token
    owner: "@alerts-oncall"
    last_rotation: ${daysAgo(400)}
  vault_postgres_app_password:
    category: database_password
    owner: "@backend-team"
    last_rotation: ${daysAgo(350)}
  vault_signalwire_token:
    category: signalwire_pat
    last_rotation: ${daysAgo(100)}
  vault_sentry_dsn:
    category: sentry_dsn
  vault_cdr_api_token:
    category: api_token
`;

let tg: FakeBotApi;
let token: string;
let bot: BotProcess;

const textOf = (m: StoredMessage) => m.message.text ?? "";
const botMessagesIn = (chat: number, chatOwner?: number) =>
  tg.messages(chat, chatOwner).filter((m) => m.botId === BOT_ID);

beforeAll(async () => {
  tg = await startFakeBotApi();
  ({ token } = tg.addBot({ id: BOT_ID, username: "akira_rotabot" }));
  tg.addUser({ id: ALICE, first_name: "Alice", username: "alice_ops" });
  tg.addUser({ id: MALLORY, first_name: "Mallory", username: "mallory" });
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE, MALLORY], bots: [BOT_ID], adminBots: [BOT_ID] });
  tg.addGroup({ id: AUDIT, title: "Akira Audit", type: "channel", members: [ALICE], bots: [BOT_ID] });
  tg.addGroup({ id: FOREIGN, title: "Random Group", members: [ALICE, MALLORY], bots: [BOT_ID] });
  bot = spawnBot(
    testEnv({
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: String(OPS),
      AUDIT_CHAT_ID: String(AUDIT),
      OPERATOR_IDS: String(ALICE),
      INFRA_DIR: makeInfraDir(MANIFEST),
      LOG_LEVEL: "debug",
    }),
  );
  await bot.ready();
});

afterAll(async () => {
  await bot?.stop();
  await tg?.close();
});

describe("rotabot start against a Bot API server", () => {
  it("runs on the Node.js its test project names (Node.js 24 in e2e@node24)", () => {
    expect(realpathSync(`/proc/${bot.child.pid}/exe`)).toBe(realpathSync(rotabotNode()));
    if (process.env.ROTABOT_NODE !== undefined)
      expect(execFileSync(rotabotNode(), ["--version"], { encoding: "utf8" })).toMatch(/^v24\./);
  });

  it("registers its command menu", () => {
    expect(tg.commandsOf(BOT_ID)?.map((c) => c.command)).toEqual([
      "rotate",
      "plan",
      "status",
      "cancel",
      "resume",
      "history",
      "timeline",
      "age",
      "help",
    ]);
  });

  it("answers an operator's /age in the ops group with the report, most urgent first", async () => {
    const before = botMessagesIn(OPS).length;
    tg.userSends({ from: ALICE, chat: OPS, text: "/age" });
    const reply = await tg.waitForMessage(
      (m) => m.botId === BOT_ID && m.message.chat.id === OPS && textOf(m).includes("Secret ages"),
    );
    expect(botMessagesIn(OPS)).toHaveLength(before + 1);
    const text = textOf(reply);
    const order = [
      "vault_cdr_api_token",
      "vault_telegram_bot_token",
      "vault_postgres_app_password",
      "vault_signalwire_token",
      "vault_sentry_dsn",
    ];
    expect(order.map((key) => text.indexOf(key))).toEqual(
      [...order.map((key) => text.indexOf(key))].sort((a, b) => a - b),
    );
    expect(text).toMatch(/2 secrets need action, 1 due soon/);
    expect(text).toMatch(/vault_telegram_bot_token\n\s+overdue by \d+ days/);
    expect(text).toMatch(/vault_cdr_api_token\n\s+never rotated · every 6 months/);
    expect(text).toMatch(/vault_postgres_app_password\n\s+due in 1[56] days/);
    expect(text).toMatch(/vault_sentry_dsn\n\s+no schedule/);
    expect(reply.message.entities?.some((e) => e.type === "code")).toBe(true);
  });

  it("shows only what needs action with /age overdue, and explains a bad filter", async () => {
    tg.userSends({ from: ALICE, chat: OPS, text: "/age@akira_rotabot overdue" });
    const reply = await tg.waitForMessage(
      (m) => m.botId === BOT_ID && textOf(m).includes("Secret ages") && !textOf(m).includes("vault_signalwire_token"),
    );
    expect(textOf(reply)).toContain("vault_telegram_bot_token");
    expect(textOf(reply)).not.toContain("vault_postgres_app_password");
    tg.userSends({ from: ALICE, chat: OPS, text: "/age soon" });
    await tg.waitForMessage((m) => m.botId === BOT_ID && textOf(m).startsWith("Unknown filter “soon”. Send /age"));
  });

  it("refuses a stranger in the ops group and audits who tried what", async () => {
    tg.userSends({ from: MALLORY, chat: OPS, text: "/age" });
    await tg.waitForMessage(
      (m) =>
        m.botId === BOT_ID && m.message.chat.id === OPS && textOf(m).includes(`Your Telegram user id is ${MALLORY}`),
    );
    const audit = await tg.waitForMessage(
      (m) => m.message.chat.id === AUDIT && textOf(m).includes("Refused") && textOf(m).includes("Mallory"),
    );
    expect(textOf(audit)).toBe(
      `⛔ Refused: Mallory @mallory (id ${MALLORY}) tried /age in supergroup “Akira Ops” (id ${OPS})`,
    );
  });

  it("refuses a stranger in a private chat and audits it; an operator is served there", async () => {
    tg.userSends({ from: MALLORY, chat: "private", text: "/age" });
    await tg.waitForMessage(
      (m) => m.message.chat.id === MALLORY && m.botId === BOT_ID && textOf(m).startsWith("⛔ Only rotabot operators"),
    );
    expect(botMessagesIn(MALLORY).some((m) => textOf(m).includes("Secret ages"))).toBe(false);
    tg.userSends({ from: ALICE, chat: "private", text: "/age" });
    await tg.waitForMessage(
      (m) => m.message.chat.id === ALICE && m.botId === BOT_ID && textOf(m).includes("Secret ages"),
    );
  });

  it("stays silent in foreign groups, even for operators, and audits the attempt", async () => {
    tg.userSends({ from: ALICE, chat: FOREIGN, text: "/age" });
    await tg.waitForMessage(
      (m) => m.message.chat.id === AUDIT && textOf(m).includes(`tried /age in supergroup “Random Group”`),
    );
    expect(botMessagesIn(FOREIGN)).toEqual([]);
  });

  it("survives an injected 429 and a 500 and still answers", async () => {
    tg.injectFault({ method: "sendMessage", status: 429, retryAfter: 1 });
    tg.injectFault({ method: "getUpdates", status: 500 });
    tg.injectFault({ method: "sendMessage", status: 500 });
    tg.userSends({ from: ALICE, chat: OPS, text: "/help" });
    await tg.waitForMessage(
      (m) => m.botId === BOT_ID && m.message.chat.id === OPS && textOf(m).includes("/age – Secret ages"),
      20_000,
    );
    const failed = tg.calls.filter((c) => !c.ok).map((c) => `${c.method}:${c.status}`);
    expect(failed).toEqual(expect.arrayContaining(["sendMessage:429", "sendMessage:500", "getUpdates:500"]));
  });

  it("points an unknown command at /help", async () => {
    tg.userSends({ from: ALICE, chat: OPS, text: "/rotatee telegram" });
    await tg.waitForMessage(
      (m) => m.botId === BOT_ID && textOf(m) === "I don't know /rotatee. Send /help for the commands I take.",
    );
  });

  it("answers a press on a button nobody owns", async () => {
    const before = botMessagesIn(OPS).length;
    tg.userSends({ from: ALICE, chat: OPS, text: "/help" });
    const sent = await tg.waitForMessage(
      (m) => m.botId === BOT_ID && m.message.chat.id === OPS && botMessagesIn(OPS).indexOf(m) >= before,
    );
    const queryId = tg.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: sent.message.message_id,
      data: "rot:stale:1",
      forge: true,
    });
    const answer = await tg.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === queryId,
    );
    expect(answer.params.text).toMatch(/no longer active/);
  });

  it("never writes the bot token anywhere it can be read", () => {
    expect(bot.output()).not.toContain(token);
    expect(bot.output()).not.toContain(token.split(":")[1]);
    const everything = JSON.stringify(tg.calls.map((c) => [c.params, c.result ?? c.description]));
    expect(everything).not.toContain(token.split(":")[1]);
  });

  it("shuts down cleanly on SIGTERM", async () => {
    expect(await bot.stop()).toBe(0);
    expect(bot.output()).toContain("rotabot stopped");
    for (const line of bot.output().trim().split("\n")) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  });
});

describe("READY_FILE", () => {
  it("says READY=1 and its pid once it polls, whatever the runbook holds (here a seventh procedure), and takes it back on SIGTERM", async () => {
    const api = await startFakeBotApi();
    const { token: readyToken } = api.addBot({ id: BOT_ID + 1, username: "ready_rotabot" });
    api.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE], bots: [BOT_ID + 1] });
    const dir = mkdtempSync(path.join(tmpdir(), "rotabot-ready-"));
    const runbook = parse(readFileSync(SHIPPED_RUNBOOK, "utf8")) as {
      policies: Record<string, unknown>;
      procedures: Record<string, unknown>[];
    };
    const apiToken = runbook.procedures.find((p) => p.id === "api-token")!;
    runbook.policies.reports_token = runbook.policies.api_token;
    runbook.procedures.push({ ...apiToken, id: "reports-token", category: "reports_token", aliases: ["reports"] });
    writeFileSync(path.join(dir, "runbook.yml"), stringify(runbook));
    const readyFile = path.join(dir, "ready");
    const seven = spawnBot(
      testEnv({
        BOT_TOKEN: readyToken,
        TELEGRAM_API_ROOT: api.url,
        OPS_CHAT_ID: String(OPS),
        OPERATOR_IDS: String(ALICE),
        INFRA_DIR: makeInfraDir(MANIFEST),
        RUNBOOK_FILE: path.join(dir, "runbook.yml"),
        READY_FILE: readyFile,
      }),
    );
    try {
      await seven.ready();
      expect(readFileSync(readyFile, "utf8")).toBe(`READY=1\nMAINPID=${seven.child.pid}\n`);
      await api.waitForMessage((m) => textOf(m).includes("started: 7 procedures"));
      expect(await seven.stop()).toBe(0);
      expect(readdirSync(dir)).toEqual(["runbook.yml"]);
    } finally {
      await seven.stop();
      await api.close();
    }
  });
});
