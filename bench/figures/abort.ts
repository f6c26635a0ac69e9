import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startRotation, textOf } from "../../test/support/chat-driver.js";
import { ALICE, BOT, OPS, startBenchWorld, type BenchWorld } from "../lib/bench-world.js";
import { median, type Figure } from "../lib/measure.js";

const KEY = "vault_billing_api_token";
const BUDGET_WINDOW_MS = 61_000;

/** Waits until the rotation's journal shows a playbook step running. */
async function untilAPlaybookRuns(world: BenchWorld, id: string): Promise<void> {
  const file = path.join(world.infra.stateDir, "rotations", `${id}.json`);
  for (;;) {
    try {
      const r = JSON.parse(readFileSync(file, "utf8")) as { steps: { kind: string; state: string }[] };
      if (r.steps.some((s) => s.kind === "run" && s.state === "running")) return;
    } catch {
      // Being replaced (rename): read again.
    }
    await sleep(20);
  }
}

/**
 * (f) `/cancel` while a playbook step runs (the api-token procedure, each playbook run the 2 s
 * stand-in), through the real bot process with the production send budget: seconds from /cancel
 * to the first word about it in the ops chat, next to the seconds to the rollback's end ("⏹
 * aborted", one 2 s rollback playbook after the cancelled step stopped), in the same runs. Each run
 * starts a minute after the one before, so that the chat's send budget is its own.
 */
export async function measureAbort(runs: number): Promise<{ figures: Figure[]; notes: string[] }> {
  const world = await startBenchWorld({ auditChat: false });
  const acknowledged: number[] = [];
  const ended: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      if (i > 0) await sleep(BUDGET_WINDOW_MS);
      const id = await startRotation(world, `/rotate ${KEY}`);
      await untilAPlaybookRuns(world, id);
      const cancel = world.tg.userSends({ from: ALICE, chat: OPS, text: `/cancel ${id}` });
      const sent = performance.now();
      const after = (m: { botId?: number; message: { chat: { id: number }; message_id: number } }) =>
        m.botId === BOT && m.message.chat.id === OPS && m.message.message_id > cancel.message_id;
      await world.tg.waitForMessage((m) => after(m) && /abort/i.test(textOf(m)), 120_000);
      acknowledged.push((performance.now() - sent) / 1000);
      await world.tg.waitForMessage((m) => after(m) && textOf(m).startsWith("⏹ aborted by"), 120_000);
      ended.push((performance.now() - sent) / 1000);
    }
  } finally {
    await world.stop();
  }
  const ack = median(acknowledged);
  return {
    figures: [
      {
        name: "(f) /cancel during a running step acknowledged in the ops chat",
        value: ack,
        unit: "s",
        baseline: { name: "the rollback's end (⏹ aborted)", value: median(ended) },
        goal: { text: "<= 2 s", met: ack <= 2 },
      },
    ],
    notes: [
      `(f) ${runs} runs, send budget 15/min, playbook runs 2 s; acknowledged after ${acknowledged.map((s) => s.toFixed(2)).join(", ")} s; aborted after ${ended.map((s) => s.toFixed(2)).join(", ")} s`,
    ],
  };
}
