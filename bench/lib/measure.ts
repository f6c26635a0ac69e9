import { spawn, type StdioOptions } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import os from "node:os";

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value below which `p` percent of the values lie (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface TimedRun {
  seconds: number;
  code: number | null;
  stderr: string;
}

/** Runs a command to completion, stdout to /dev/null (written synchronously, as to a file), and times it. */
export function timed(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<TimedRun> {
  const devNull = openSync("/dev/null", "w");
  const stdio: StdioOptions = ["ignore", devNull, "pipe"];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      closeSync(devNull);
      resolve({ seconds: (performance.now() - started) / 1000, code, stderr });
    });
  });
}

/** Resident memory of a process in MB, from /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** The machine the figures come from: they mean little without it. */
export function describeMachine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2));
  return [
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown CPU"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `load average: ${load.join(" / ")} (1/5/15 min) at start; node ${process.version}; ${os.type()} ${os.release()}`,
  ].join("\n");
}

/** One line of the report: a figure, its baseline measured in the same run, and the goal. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  goal: { text: string; met: boolean };
}

const fmt = (value: number, unit: string) =>
  `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${unit}`;

/** Prints figures as an aligned table: figure | measured | baseline | ratio | goal | PASS/MISS. */
export function formatFigures(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    fmt(f.value, f.unit),
    f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value, f.unit)}` : "-",
    f.baseline && f.baseline.value > 0 ? `${(f.value / f.baseline.value).toFixed(2)}x` : "-",
    f.goal.text,
    f.goal.met ? "PASS" : "MISS",
  ]);
  const header = ["figure", "measured", "baseline (same run)", "ratio", "goal", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(" | ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.map(line)].join("\n");
}
