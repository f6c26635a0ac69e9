import { spawn } from "node:child_process";
import { mkdtempSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startFakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { isReady } from "../../src/cli/signal-ready.js";
import { startRotation } from "../../test/support/chat-driver.js";
import { spawnBot } from "../../test/support/run-rotabot.js";
import { ALICE, benchEnv, BOT, makeBenchInfra, OPS, productionNodeArgs } from "../lib/bench-world.js";
import { median, percentile, rssMb, type Figure } from "../lib/measure.js";

const BARE_BOT = path.join(import.meta.dirname, "..", "baseline", "bare-grammy-bot.mjs");
const BARE_BOT_ID = 7002;
/** The operators who send /age, each in a private chat of their own (a chat's budget is 1 write a second). */
const FIRST_OPERATOR = 2000;

/** Resolves when READY_FILE says the process `pid` is ready: watched, not polled, so the time is exact. */
function readyAt(file: string, pid: number): Promise<number> {
  return new Promise((resolve) => {
    const check = () =>
      void isReady(file, pid).then((ready) => {
        if (!ready) return;
        watcher.close();
        resolve(performance.now());
      });
    const watcher = watch(path.dirname(file), check);
    check();
  });
}

/**
 * (g) `rotabot start` from spawn to READY_FILE (written once it polls), vs a bare grammY bot
 * from spawn to its `onStart`; (h) `/age` from the operator's message to the reply, `replies`
 * times, each from another operator in their private chat (one chat's budget would pace them a
 * second apart); (i) the resident memory of the same process after those replies and a started
 * rotation. The shipped runbook, the bench's infra checkout, production settings.
 */
export async function measureBotCosts({ starts, replies }: { starts: number; replies: number }) {
  const tg = await startFakeBotApi();
  const { token } = tg.addBot({ id: BOT, username: "akira_rotabot" });
  const operators = Array.from({ length: replies }, (_, i) => FIRST_OPERATOR + i);
  tg.addUser({ id: ALICE, first_name: "alice", username: "alice" });
  for (const id of operators) tg.addUser({ id, first_name: `op${id}` });
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE], bots: [BOT], adminBots: [BOT] });
  const infra = makeBenchInfra();
  const env = benchEnv(tg, infra, token, { OPERATOR_IDS: [ALICE, ...operators].join(",") });
  const { token: bareToken } = tg.addBot({ id: BARE_BOT_ID, username: "bare_grammy_bot" });
  const ready: number[] = [];
  const nodeArgs = productionNodeArgs();
  const bare: number[] = [];
  try {
    for (let i = 0; i < starts; i++) {
      const readyFile = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-bench-ready-")), "ready");
      const spawned = performance.now();
      const bot = spawnBot({ ...env, READY_FILE: readyFile }, infra.infraDir, nodeArgs);
      ready.push(((await readyAt(readyFile, bot.child.pid!)) - spawned) / 1000);
      await bot.stop();
      bare.push(await bareBotStart(bareToken, tg.url));
    }
    const bot = spawnBot(env, infra.infraDir, nodeArgs);
    await bot.ready();
    const answered: number[] = [];
    for (const from of operators) {
      const sent = performance.now();
      const reply = tg.waitForMessage((m) => m.botId === BOT && m.message.chat.id === from, 30_000);
      tg.userSends({ from, chat: "private", text: "/age" });
      await reply;
      answered.push(performance.now() - sent);
    }
    await startRotation({ tg }, "/rotate vault_billing_api_token");
    const rss = rssMb(bot.child.pid!);
    await bot.stop();
    const p95 = percentile(answered, 95);
    const figures: Figure[] = [
      {
        name: "(g) rotabot start, spawn -> READY_FILE",
        value: median(ready),
        unit: "s",
        baseline: { name: "bare grammY bot, spawn -> onStart", value: median(bare) },
        goal: { text: "<= 0.5 s", met: median(ready) <= 0.5 },
      },
      {
        name: `(h) /age, message -> reply, p95 of ${replies}`,
        value: p95,
        unit: "ms",
        goal: { text: "<= 20 ms", met: p95 <= 20 },
      },
      {
        name: `(i) memory after ${replies} replies and a started rotation`,
        value: rss,
        unit: "MB",
        goal: { text: "<= 80 MB", met: rss <= 80 },
      },
    ];
    return {
      figures,
      notes: [
        `(g) median of ${starts} starts; (g), (h), (i) run node ${nodeArgs.join(" ")} as the systemd unit does`,
        `(h) /age p50 ${percentile(answered, 50).toFixed(1)} ms, max ${Math.max(...answered).toFixed(1)} ms`,
      ],
    };
  } finally {
    await tg.close();
  }
}

/** Seconds from spawning the bare grammY bot to its `onStart` (it polls next). */
async function bareBotStart(token: string, apiRoot: string): Promise<number> {
  const spawned = performance.now();
  const child = spawn(process.execPath, [BARE_BOT], {
    env: { PATH: process.env.PATH, BOT_TOKEN: token, TELEGRAM_API_ROOT: apiRoot },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const seconds = await new Promise<number>((resolve, reject) => {
    child.stdout.on(
      "data",
      (d: Buffer) => d.toString().includes("ready") && resolve((performance.now() - spawned) / 1000),
    );
    child.on("exit", (code) => reject(new Error(`the bare grammY bot exited (${code})`)));
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  return seconds;
}
