import { spawn } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startBenchWorld } from "../lib/bench-world.js";
import { rssMb, type Figure } from "../lib/measure.js";

const BARE_BOT = path.join(import.meta.dirname, "..", "baseline", "bare-grammy-bot.mjs");
const BARE_BOT_ID = 7002;

/** (d) Resident memory of `rotabot start`, `settleSeconds` after it is ready, vs a bare grammY bot polling the same API. */
export async function measureIdleMemory(settleSeconds: number): Promise<{ figures: Figure[]; notes: string[] }> {
  const world = await startBenchWorld({ auditChat: false });
  const { token } = world.tg.addBot({ id: BARE_BOT_ID, username: "bare_grammy_bot" });
  const bare = spawn(process.execPath, [BARE_BOT], {
    env: { PATH: process.env.PATH, BOT_TOKEN: token, TELEGRAM_API_ROOT: world.tg.url },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      bare.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      bare.on("exit", (code) => reject(new Error(`the bare grammY bot exited (${code})`)));
    });
    await sleep(settleSeconds * 1000);
    const ours = rssMb(world.bot.child.pid!);
    const theirs = rssMb(bare.pid!);
    return {
      figures: [
        {
          name: `(d) idle memory of rotabot start, ${settleSeconds} s after ready`,
          value: ours,
          unit: "MB",
          baseline: { name: "bare grammY bot", value: theirs },
          goal: { text: "<= 80 MB", met: ours <= 80 },
        },
      ],
      notes: ["(d) resident set size (VmRSS) of each process, both long-polling the local Bot API"],
    };
  } finally {
    bare.kill("SIGTERM");
    await world.stop();
  }
}
