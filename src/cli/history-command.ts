import { buildTimeline, readAuditOf, timelineMarkdown } from "../audit/build-timeline.js";
import { describeExposure } from "../changelog/describe-exposure.js";
import { describeOutage } from "../rotation/queries.js";
import type { Rotation } from "../model/rotation.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { openEngine } from "./open-engine.js";
import { readCommandLine } from "./usage.js";

/** One rotation of `rotabot history`: never a value (a rotation holds none). */
export function historyLines(r: Readonly<Rotation>): string[] {
  const head = `${r.createdAt.slice(0, 16).replace("T", " ")}  ${r.id}  ${r.key}  ${r.state}  by ${r.initiator.name}${r.commit ? `  commit ${r.commit}` : ""}`;
  const compromise = r.compromise
    ? [`  🚨 suspected compromise (${r.compromise.reason}), ${r.compromise.order} order; ${describeExposure(r)}`]
    : r.incident
      ? [`  incident: ${r.incident.reason}`]
      : [];
  const outage = r.outage ? [`  ⏱ ${describeOutage(r)}`] : [];
  const approver = r.approver
    ? [
        `  👥 approver asked: ${r.approver.name}${r.approver.lapsed ? ` (did not answer in time, ${r.approver.lapsed}: any approver could approve)` : ""}`,
      ]
    : [];
  return [head, ...compromise, ...approver, ...outage];
}

/** `rotabot history`: the latest rotations from the journal, newest first. */
export async function runHistoryCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = readCommandLine("history", args, io);
  if (!parsed.ok) return parsed.exitCode;
  const limit = Number(parsed.values.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    io.stderr(`rotabot history: --limit takes a whole number of rotations, such as 20\n`);
    return EXIT.usage;
  }
  const opened = await openEngine(io, parsed.values.infra);
  if (!opened.ok) {
    io.stderr(`rotabot history: ${opened.message}\n`);
    return EXIT.usage;
  }
  const rotations = (await opened.engine.list()).slice(0, limit);
  if (rotations.length === 0) io.stdout("No rotations yet.\n");
  for (const r of rotations) io.stdout(`${historyLines(r).join("\n")}\n`);
  return EXIT.ok;
}

/** `rotabot timeline <id> [--markdown]`: a rotation's timeline, from its journal and the audit log. */
export async function runTimelineCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = readCommandLine("timeline", args, io);
  if (!parsed.ok) return parsed.exitCode;
  const id = parsed.positionals[0]!;
  const opened = await openEngine(io, parsed.values.infra);
  if (!opened.ok) {
    io.stderr(`rotabot timeline: ${opened.message}\n`);
    return EXIT.usage;
  }
  const rotation = await opened.engine.get(id);
  if (!rotation) {
    io.stderr(`rotabot timeline: no rotation ${id} in the journal: rotabot history lists them\n`);
    return EXIT.usage;
  }
  const entries = buildTimeline(rotation, await readAuditOf(opened.paths.stateDir, id));
  if (parsed.values.markdown) io.stdout(timelineMarkdown(rotation, entries));
  else for (const e of entries) io.stdout(`${e.at}  ${e.what}${e.who ? `  (${e.who})` : ""}\n`);
  return EXIT.ok;
}
