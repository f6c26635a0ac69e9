import { cpSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { buttonsOf, textOf, walkRotation, type WalkedRotation } from "../../test/support/chat-driver.js";
import { PROJECT_ROOT, SHIPPED_RUNBOOK } from "../../test/support/paths.js";
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
  for (const folder of ["playbooks", "tasks", "group_vars", "inventory"])
    cpSync(path.join(SANDBOX_INFRA, "infra", folder), path.join(infra.infraDir, "infra", folder), { recursive: true });
  infra.git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "add", "-A");
  infra.git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "playbooks");
  return infra;
}

const UNIT_TEMPLATE = path.join(
  PROJECT_ROOT,
  "deploy",
  "ansible",
  "roles",
  "rotabot",
  "templates",
  "rotabot.service.j2",
);

/**
 * The node flags the systemd unit starts `rotabot start` with (its ExecStart, read from the
 * install role's template, so the bench measures what production runs): `--max-semi-space-size=1`.
 */
export function productionNodeArgs(): string[] {
  const execStart = /^ExecStart=(.*)$/m.exec(readFileSync(UNIT_TEMPLATE, "utf8"))?.[1] ?? "";
  return execStart.split(/\s+/).filter((arg) => arg.startsWith("--"));
}

export const benchPath = () => `${STAND_INS}:${process.env.PATH ?? "/usr/bin:/bin"}`;

/** `rotabot start`'s environment in the bench: the infra checkout, the shipped runbook, production settings, no digest. */
export function benchEnv(
  tg: FakeBotApi,
  infra: RotationInfra,
  token: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...infra.env,
    PATH: benchPath(),
    RUNBOOK_FILE: SHIPPED_RUNBOOK,
    BOT_TOKEN: token,
    TELEGRAM_API_ROOT: tg.url,
    OPS_CHAT_ID: String(OPS),
    OPERATOR_IDS: String(ALICE),
    REMINDER_TIME: "off",
    ...extra,
  };
}

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
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE], bots: [BOT], adminBots: [BOT] });
  if (auditChat) tg.addGroup({ id: AUDIT, title: "Akira Audit", type: "channel", members: [], bots: [BOT] });
  const infra = makeBenchInfra();
  const env = benchEnv(tg, infra, token, { ...(auditChat ? { AUDIT_CHAT_ID: String(AUDIT) } : {}), ...extraEnv });
  const bot: BotProcess = spawnBot(env, infra.infraDir);
  const auditTarget = auditChat ? AUDIT : OPS;
  await bot.ready(30_000);
  // Ready is READY_FILE; the audit line of the start follows it, and must not count in the traffic measured next.
  await tg.waitForMessage((m) => m.message.chat.id === auditTarget && textOf(m).startsWith("🤖 rotabot"), 30_000);
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

/**
 * Plays the operator: reads the plan for `readingMs` (READING_PLAN_MS unless told), presses
 * Start, then answers each prompt as soon as it shows.
 */
export function driveRotation(tg: FakeBotApi, command: string, readingMs = READING_PLAN_MS): Promise<WalkedRotation> {
  // The operator reads the plan before pressing Start, as anyone would (the clock starts at the
  // press); rotabot uses that time for its --list-tasks checks, which a person rotating by hand
  // skips. Figure (a) presses at once, so that it never counts on that time.
  return walkRotation(command, {
    tg,
    botId: BOT,
    opsChat: OPS,
    operator: ALICE,
    promptTimeoutMs: 120_000,
    beforeStart: () => sleep(readingMs),
  });
}

/**
 * Plays the operator of a rotation day: `/rotate due`, reads the plan for READING_PLAN_MS, presses
 * Start, answers each card as soon as it shows (Confirm, Done), until the day's summary.
 */
export async function driveDay(tg: FakeBotApi): Promise<{ startedAt: number; endedAt: number }> {
  const before = tg.messages(OPS).length;
  tg.userSends({ from: ALICE, chat: OPS, text: "/rotate due" });
  const plan = await tg.waitForMessage(
    (m) => m.botId === BOT && m.message.message_id > before && buttonsOf(m).some((b) => /^day\|.*\|start$/.test(b)),
    120_000,
  );
  await sleep(READING_PLAN_MS);
  const startedAt = Date.now();
  tg.pressButton({
    from: ALICE,
    chat: OPS,
    messageId: plan.message.message_id,
    data: buttonsOf(plan).find((b) => b.endsWith("|start"))!,
  });
  const handled = new Set<number>();
  for (;;) {
    const next = await tg.waitForMessage(
      (m) =>
        m.botId === BOT &&
        m.message.chat.id === OPS &&
        !m.deleted &&
        !handled.has(m.message.message_id) &&
        (textOf(m).startsWith("🏁 Rotation day") || buttonsOf(m).some((b) => b.startsWith("rt|"))),
      300_000,
    );
    handled.add(next.message.message_id);
    if (textOf(next).startsWith("🏁 Rotation day")) return { startedAt, endedAt: Date.now() };
    const data = buttonsOf(next).find((b) => b.endsWith("|g") || b.endsWith("|d"));
    if (!data) throw new Error(`unexpected card in the rotation day: ${textOf(next)}`);
    tg.pressButton({ from: ALICE, chat: OPS, messageId: next.message.message_id, data });
  }
}
