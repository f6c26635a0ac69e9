/**
 * `npm run bench`: the performance figures of issue 16, each with its baseline measured in the
 * same run on this machine, and PASS/MISS against its goal. Not a test: timings vary with load.
 * Runs the built dist/ (npm run bench builds first). BENCH_ONLY=a,c runs only those figures.
 */
import { measureAbort } from "./figures/abort.js";
import { measureAge } from "./figures/age.js";
import { measureBotCosts } from "./figures/bot-costs.js";
import { measureChatTraffic } from "./figures/chat-traffic.js";
import { measureExposure } from "./figures/exposure.js";
import { measureIdleMemory } from "./figures/idle-memory.js";
import { measureRotation } from "./figures/rotation.js";
import { measureStartup } from "./figures/startup.js";
import { describeMachine, formatFigures, type Figure } from "./lib/measure.js";

const only = new Set((process.env.BENCH_ONLY ?? "a,b,c,d,e,f,g").split(",").map((s) => s.trim()));
const figures: Figure[] = [];
const notes: string[] = [];
const out = (text: string) => process.stdout.write(`${text}\n`);

out(`rotabot bench, ${new Date().toISOString()}`);
out(describeMachine());
const steps: [string, string, () => Promise<{ figures: Figure[]; notes: string[] }>][] = [
  ["c", "start-up", () => measureStartup(15)],
  [
    "b",
    "age",
    () =>
      measureAge([
        { entries: 100, runs: 9 },
        { entries: 1_000, runs: 5 },
        { entries: 10_000, runs: 3 },
        { entries: 50_000, runs: 1 },
        { entries: 1_000_000, runs: 1, baseline: false, table: true },
      ]),
  ],
  ["a", "rotation", () => measureRotation(3)],
  ["d", "idle memory", () => measureIdleMemory(30)],
  ["e", "chat traffic", () => measureChatTraffic()],
  ["f", "abort", () => measureAbort(3)],
  ["g", "start-up, /age and memory of rotabot start", () => measureBotCosts({ starts: 5, replies: 100 })],
  ["j", "exposure window, compromise against routine", () => measureExposure()],
];
for (const [key, title, measure] of steps) {
  if (!only.has(key)) continue;
  const started = Date.now();
  process.stderr.write(`measuring (${key}) ${title}...\n`);
  const result = await measure();
  figures.push(...result.figures);
  notes.push(...result.notes);
  process.stderr.write(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
out("");
out(formatFigures(figures));
out("");
for (const note of notes) out(note);
out(
  `load average at the end: ${(await import("node:os"))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ")}`,
);
