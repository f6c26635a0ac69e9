import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { benchPath, driveRotation, makeBenchInfra, startBenchWorld } from "../lib/bench-world.js";
import { median, timed, type Figure } from "../lib/measure.js";

const BY_HAND = path.join(import.meta.dirname, "..", "baseline", "rotate-by-hand.sh");
const KEY = "vault_billing_api_token";
const BUDGET_WINDOW_MS = 61_000;

/**
 * (a) The api-token rotation (5 playbook runs of 2 s each) from Start to "Rotation complete",
 * through the real bot process and the local Bot API, paired with the same commands by a shell
 * script (real ansible-vault, the same stand-in playbook, git commit). Medians of `pairs` pairs.
 * Each rotation through the bot starts a minute after the one before, as one rotation would: its
 * chat's send budget (15 writes a minute) is then its own; back-to-back traffic is figure (e).
 */
export async function measureRotation(pairs: number): Promise<{ figures: Figure[]; notes: string[] }> {
  const world = await startBenchWorld({ auditChat: false });
  const viaBot: number[] = [];
  const byHand: number[] = [];
  try {
    let lastCompleted = 0;
    for (let i = 0; i < pairs; i++) {
      await sleep(Math.max(0, lastCompleted + BUDGET_WINDOW_MS - Date.now()));
      const times = await driveRotation(world.tg, `/rotate ${KEY}`, 0);
      lastCompleted = times.completedAt;
      viaBot.push((times.completedAt - times.startedAt) / 1000);
      const infra = makeBenchInfra();
      const run = await timed(BY_HAND, [infra.infraDir, infra.vaultFiles.passwordFile, KEY], {
        env: { PATH: benchPath(), HOME: infra.infraDir },
      });
      if (run.code !== 0) throw new Error(`rotate-by-hand.sh failed (${run.code}): ${run.stderr}`);
      byHand.push(run.seconds);
    }
  } finally {
    await world.stop();
  }
  const bot = median(viaBot);
  const hand = median(byHand);
  return {
    figures: [
      {
        name: "(a) api-token rotation, Start (at once) -> complete",
        value: bot,
        unit: "s",
        baseline: { name: "same commands by a shell script", value: hand },
        goal: { text: "<= 1.05x by hand", met: bot <= hand * 1.05 },
      },
    ],
    notes: [
      `(a) ${pairs} pairs, AUDIT_CHAT_ID unset, send budget 15/min, rotations a minute apart, Start pressed as soon as the plan shows (no reading time for the --list-tasks checks to hide in); the first rotation checks the playbooks cold; via bot: ${viaBot.map((s) => s.toFixed(2)).join(", ")} s; by hand: ${byHand.map((s) => s.toFixed(2)).join(", ")} s`,
    ],
  };
}
