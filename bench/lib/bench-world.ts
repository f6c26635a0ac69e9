import { cpSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { startFakeBotApi, type FakeBotApi, type StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { buttonsOf, textOf } from "../../test/support/chat-driver.js";
import { SHIPPED_RUNBOOK } from "../../test/support/paths.js";
import { makeRotationInfra, type RotationInfra } from "../../test/support/rotation-fixture.js";
import { spawnBot, type BotProcess } from "../../test/support/run-rotabot.js";

export const BOT = 7001;
export const OPS = -1001000000001;
export const AUDIT = -1001000000002;
export const ALICE = 101;
/** How long the bench's operator reads a plan card before pressing Start. */
export const READING_PLAN_MS = 5_000;
export const STAND_INS = path.join(import.meta.dirname, "..", "stand-ins");
const SANDBOX_INFRA = path.join(import.meta.dirname, "..", "..", "deploy", "sandbox", "infra");

/**
 * An infra checkout as the shipped runbook expects it: the sandbox's real playbooks, tasks and
 * inventory (rotabot's `--list-tasks` check reads them with the real ansible-playbook), and the
 * stand-in ansible-playbook first on PATH for the runs.
 */
export function makeBenchInfra(): RotationInfra {
  const infra = makeRotationInfra();
  for (const folder of ["playbooks", "tasks", "templates", "inventory"])
    cpSync(path.join(SANDBOX_INFRA, "infra", folder), path.join(infra.infraDir, "infra", folder), { recursive: true });
  infra.git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "add", "-A");
  infra.git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "playbooks");
  return infra;
}

export const benchPath = () => `${STAND_INS}:${process.env.PATH ?? "/usr/bin:/bin"}`;

/**
 * The local Bot API with the ops group (and, when `auditChat`, a separate audit channel), an
 * infra checkout, and `rotabot start` with the shipped runbook and production settings
 * (send budget included); only the digest is off, so that it does not count in the traffic.
 */
export async function startBenchWorld({
  auditChat,
  env: extraEnv = {},
}: {
  auditChat: boolean;
  env?: Record<string, string>;
}) {
  const tg: FakeBotApi = await startFakeBotApi();
  const { token } = tg.addBot({ id: BOT, username: "akira_rotabot" });
  tg.addUser({ id: ALICE, first_name: "alice", username: "alice" });
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE], bots: [BOT] });
  if (auditChat) tg.addGroup({ id: AUDIT, title: "Akira Audit", type: "channel", members: [], bots: [BOT] });
  const infra = makeBenchInfra();
  const env: Record<string, string> = {
    ...infra.env,
    PATH: benchPath(),
    RUNBOOK_FILE: SHIPPED_RUNBOOK,
    BOT_TOKEN: token,
    TELEGRAM_API_ROOT: tg.url,
    OPS_CHAT_ID: String(OPS),
    OPERATOR_IDS: String(ALICE),
    REMINDER_TIME: "off",
    ...(auditChat ? { AUDIT_CHAT_ID: String(AUDIT) } : {}),
    ...extraEnv,
  };
  const bot: BotProcess = spawnBot(env, infra.infraDir);
  const auditTarget = auditChat ? AUDIT : OPS;
  await tg.waitForMessage((m) => m.message.chat.id === auditTarget && textOf(m).includes("started:"), 30_000);
  return {
    tg,
    infra,
    bot,
    async stop(): Promise<void> {
      await bot.stop();
      await tg.close();
    },
  };
}
export type BenchWorld = Awaited<ReturnType<typeof startBenchWorld>>;

/** When the operator pressed Start and when "Rotation complete" showed in the ops chat, in ms since the epoch. */
export interface RotationTimes {
  rotationId: string;
  startedAt: number;
  completedAt: number;
}

/** Plays the operator, answering each prompt as soon as it shows: /rotate, Start, confirmations, done. */
export async function driveRotation(tg: FakeBotApi, command: string): Promise<RotationTimes> {
  const seen = (m: StoredMessage) => `${m.message.chat.id}:${m.message.message_id}`;
  const before = new Set(tg.messages(OPS).map(seen));
  tg.userSends({ from: ALICE, chat: OPS, text: command });
  const plan = await tg.waitForMessage(
    (m) => m.botId === BOT && !before.has(seen(m)) && buttonsOf(m).some((b) => b.endsWith("|start")),
    30_000,
  );
  // The operator reads the plan before pressing Start, as anyone would (the clock starts at the
  // press); rotabot uses that time for its --list-tasks checks, which a person rotating by hand skips.
  await sleep(READING_PLAN_MS);
  const startedAt = Date.now();
  tg.pressButton({
    from: ALICE,
    chat: OPS,
    messageId: plan.message.message_id,
    data: buttonsOf(plan).find((b) => b.endsWith("|start"))!,
  });
  const started = await tg.waitForMessage(
    (m) => seen(m) === seen(plan) && /Started as rotation|Not started/.test(textOf(m)),
    120_000,
  );
  const rotationId = /rotation (\d{8}-\d{4}-[0-9a-f]{4})/.exec(textOf(started))?.[1];
  if (!rotationId) throw new Error(`the rotation did not start: ${textOf(started)}`);
  const handled = new Set<string>();
  for (;;) {
    const next = await tg.waitForMessage((m) => {
      if (m.botId !== BOT || m.deleted || handled.has(seen(m)) || before.has(seen(m))) return false;
      if (textOf(m).includes("Rotation complete")) return true;
      return buttonsOf(m).some((b) => b.startsWith(`rt|${rotationId}|`));
    }, 120_000);
    handled.add(seen(next));
    if (textOf(next).includes("Rotation complete")) return { rotationId, startedAt, completedAt: Date.now() };
    const buttons = buttonsOf(next);
    const answer = ["g", "d"].find((suffix) => buttons.some((b) => b.endsWith(`|${suffix}`)));
    if (!answer) throw new Error(`unexpected prompt in rotation ${rotationId}: ${textOf(next)}`);
    tg.pressButton({
      from: ALICE,
      chat: next.message.chat.id,
      messageId: next.message.message_id,
      data: buttons.find((b) => b.endsWith(`|${answer}`))!,
    });
  }
}
