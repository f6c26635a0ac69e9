import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeManifest } from "../lib/generate-manifest.js";
import { median, timed, type Figure } from "../lib/measure.js";
import { MAIN_JS } from "../../test/support/paths.js";

const BASELINE = path.join(import.meta.dirname, "..", "baseline", "age-baseline.py");
const AS_OF = "2026-11-25";

/**
 * (b) `rotabot age --json` on generated manifests vs python3 + PyYAML doing the same work. A size
 * with `table: true` also times the terminal table; `baseline: false` skips PyYAML (a million
 * entries: minutes and gigabytes for the baseline alone). The million-entry run is there because
 * the table died with "Maximum call stack size exceeded" above about 150,000 entries (issue 25):
 * its goal is to complete.
 */
export async function measureAge(
  sizes: readonly { entries: number; runs: number; baseline?: boolean; table?: boolean }[],
): Promise<{ figures: Figure[]; notes: string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-bench-age-"));
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, STATE_DIR: path.join(dir, "state") };
  const libyaml = pythonYaml();
  const hasPython = libyaml !== undefined;
  const figures: Figure[] = [];
  const notes: string[] = [];
  const at: Record<number, number> = {};
  for (const { entries, runs, baseline = true, table = false } of sizes) {
    const manifest = writeManifest(dir, entries);
    const ours: number[] = [];
    const theirs: number[] = [];
    const tables: number[] = [];
    const withBaseline = hasPython && baseline;
    for (let i = 0; i < runs; i++) {
      const run = await timed(process.execPath, [MAIN_JS, "age", "--json", "--manifest", manifest, "--as-of", AS_OF], {
        env,
      });
      if (run.code !== 0 && run.code !== 1) throw new Error(`rotabot age failed (${run.code}): ${run.stderr}`);
      ours.push(run.seconds);
      if (table) {
        const shown = await timed(process.execPath, [MAIN_JS, "age", "--manifest", manifest, "--as-of", AS_OF], {
          env,
        });
        if (shown.code !== 0 && shown.code !== 1)
          throw new Error(`rotabot age failed (${shown.code}): ${shown.stderr}`);
        tables.push(shown.seconds);
      }
      if (withBaseline) {
        const base = await timed("python3", [BASELINE, manifest, AS_OF], { env });
        if (base.code !== 0) throw new Error(`age-baseline.py failed: ${base.stderr}`);
        theirs.push(base.seconds);
      }
    }
    at[entries] = median(ours);
    const goal =
      entries === 100
        ? { text: "<= 0.3 s", met: at[entries] <= 0.3 }
        : entries === 10_000
          ? { text: "<= 1 s", met: at[entries] <= 1 }
          : entries === 50_000
            ? { text: "<= 5 s (linear)", met: at[entries] <= 5 }
            : entries >= 1_000_000
              ? { text: "completes", met: true }
              : { text: "-", met: true };
    figures.push({
      name: `(b) rotabot age --json, ${entries.toLocaleString("en")} entries`,
      value: at[entries],
      unit: "s",
      ...(withBaseline ? { baseline: { name: "python3 + PyYAML", value: median(theirs) } } : {}),
      goal,
    });
    if (table)
      figures.push({
        name: `(b) rotabot age (table), ${entries.toLocaleString("en")} entries`,
        value: median(tables),
        unit: "s",
        goal: { text: "completes", met: true },
      });
  }
  if (at[10_000] && at[50_000])
    notes.push(`(b) 50k / 10k time: ${(at[50_000] / at[10_000]).toFixed(1)}x for 5x the entries (linear: about 5x)`);
  if (at[50_000] && at[1_000_000])
    notes.push(
      `(b) 1M / 50k time: ${(at[1_000_000] / at[50_000]).toFixed(1)}x for 20x the entries (linear: about 20x)`,
    );
  notes.push(
    libyaml === undefined
      ? "(b) python3 with PyYAML is not installed: no baseline"
      : `(b) baseline parser: PyYAML ${libyaml ? "with libyaml (CSafeLoader)" : "without libyaml (pure-Python SafeLoader)"}`,
  );
  return { figures, notes };
}

/** Whether python3's PyYAML has libyaml; undefined without python3 or PyYAML. */
function pythonYaml(): boolean | undefined {
  try {
    return execFileSync("python3", ["-c", "import yaml; print(yaml.__with_libyaml__)"]).toString().trim() === "True";
  } catch {
    return undefined;
  }
}
