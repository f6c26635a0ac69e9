import { median, timed, type Figure } from "../lib/measure.js";
import { MAIN_JS } from "../../test/support/paths.js";

/** (c) `rotabot --version` vs `node -e 0`, interleaved, medians of `runs`. */
export async function measureStartup(runs: number): Promise<{ figures: Figure[]; notes: string[] }> {
  const ours: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push((await timed(process.execPath, [MAIN_JS, "--version"])).seconds);
    bare.push((await timed(process.execPath, ["-e", "0"])).seconds);
  }
  const value = median(ours);
  return {
    figures: [
      {
        name: "(c) rotabot --version",
        value,
        unit: "s",
        baseline: { name: "node -e 0", value: median(bare) },
        goal: { text: "<= 0.15 s", met: value <= 0.15 },
      },
    ],
    notes: [],
  };
}
