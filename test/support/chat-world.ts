import { writeFileSync } from "node:fs";
import path from "node:path";
import { buttonsOf, textOf, walkRotation, type WalkOptions } from "./chat-driver.js";
import { makeChatInfra, OLD_VALUES } from "./chat-fixture.js";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { spawnBot, type BotProcess } from "./run-rotabot.js";

export const BOT = 7001;
export const NOTIFY_BOT = 5_550_001_234;
export const OPS = -1001000000001;
export const AUDIT = -1001000000002;
export const ALICE = 101;
export const BOB = 102;
export const MALLORY = 666;

/** The fake Telegram (ops group, audit channel, two operators and a stranger), an infra checkout, and the bot process. */
export async function startChatWorld(extraEnv: Record<string, string> = {}) {
  const tg: FakeBotApi = await startFakeBotApi();
  const { token } = tg.addBot({ id: BOT, username: "akira_rotabot" });
  const oldTelegramToken = tg.addBot({ id: NOTIFY_BOT, username: "akira_alerts_bot" }).token;
  for (const [id, name] of [
    [ALICE, "alice"],
    [BOB, "bob"],
    [MALLORY, "mallory"],
  ] as const)
    tg.addUser({ id, first_name: name, username: name });
  // As production should be (docs/deploy.md, step 2): rotabot is an admin of the ops group with
  // "Delete messages", so it sees a secret pasted there and deletes it; and it posts in the channel.
  // The notification bot posts the alerts in the ops group, where the Telegram rotation's test alert goes.
  tg.addGroup({
    id: OPS,
    title: "Akira Ops",
    members: [ALICE, BOB, MALLORY],
    bots: [BOT, NOTIFY_BOT],
    adminBots: [BOT],
  });
  tg.addGroup({
    id: AUDIT,
    title: "Akira Audit",
    type: "channel",
    members: [],
    bots: [BOT, NOTIFY_BOT],
    adminBots: [BOT, NOTIFY_BOT],
  });
  tg.userSends({ from: ALICE, chat: "private", text: "/start" });
  const infra = makeChatInfra(oldTelegramToken);
  const env = {
    ...infra.env,
    BOT_TOKEN: token,
    TELEGRAM_API_ROOT: tg.url,
    OPS_CHAT_ID: String(OPS),
    AUDIT_CHAT_ID: String(AUDIT),
    OPERATOR_IDS: `${ALICE},${BOB}`,
    LOG_LEVEL: "debug",
    // The local Bot API has no flood limits; a production budget (15 a minute) would make these tests minutes long.
    CHAT_MAX_PER_MINUTE: "600",
    ...extraEnv,
  };
  const outputs: string[] = [];
  let bot: BotProcess | undefined;

  const world = {
    tg,
    infra,
    token,
    oldTelegramToken,
    secrets: [token, oldTelegramToken, ...Object.values(OLD_VALUES)],
    bot: () => bot!,
    /** Every process's output so far (restarts included). */
    output: () => [...outputs, bot?.output() ?? ""].join("\n"),
    /** Starts `rotabot start`; resolves once it says it is ready (READY_FILE), unless `ready: false`. */
    async startBot({ ready = true }: { ready?: boolean } = {}): Promise<void> {
      bot = spawnBot(env);
      if (!ready) return;
      await bot.ready();
    },
    /** Simulates a crash: SIGKILL, no goodbye. */
    async killBot(): Promise<void> {
      bot!.child.kill("SIGKILL");
      await bot!.exited;
      outputs.push(bot!.output());
    },
    walk: (command: string, extra: Partial<WalkOptions> = {}) =>
      walkRotation(command, { tg, botId: BOT, opsChat: OPS, operator: ALICE, ...extra }),
    auditText: () =>
      tg
        .messages(AUDIT)
        .filter((m) => m.botId === BOT)
        .map(textOf)
        .join("\n"),
    valueOf: (key: string) => new RegExp(`^${key}: "([^"]+)"$`, "m").exec(infra.vaultPlain())?.[1],
    /**
     * Presses the bot never answered, or answered after Telegram's window (the stand-in refuses
     * those as Telegram does). `stop()` fails the test on any, except `pressed while down`.
     */
    latePresses: () =>
      tg.callbackQueries().filter((q) => q.botId === BOT && (q.answeredAt === undefined || q.refused > 0)),
    /** Presses a test made while the bot was stopped or killed on purpose: nobody could answer them. */
    pressedWhileDown: new Set<string>(),
    async stop(): Promise<void> {
      const dump = [OPS, AUDIT, ALICE, BOB].flatMap((chat) =>
        tg
          .messages(chat, BOT)
          .map((m) => `[${chat}${m.deleted ? " deleted" : ""}] ${textOf(m)} ${buttonsOf(m).join(" ")}`),
      );
      writeFileSync(
        path.join(infra.stateDir, "..", `chat-world-${process.pid}-${Date.now()}.txt`),
        `${dump.join("\n")}\n\n${world.output()}`,
      );
      await bot?.stop();
      const late = world.latePresses().filter((q) => !world.pressedWhileDown.has(q.id));
      await tg.close();
      if (late.length > 0)
        throw new Error(
          `rotabot left ${late.length} button press(es) unanswered or answered after Telegram's window: ${late.map((q) => `${q.data} by ${q.from}${q.refused > 0 ? " (answer refused as too late)" : " (never answered)"}`).join("; ")}`,
        );
    },
  };
  return world;
}
export type ChatWorld = Awaited<ReturnType<typeof startChatWorld>>;
