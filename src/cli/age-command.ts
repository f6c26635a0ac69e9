import path from "node:path";
import { buildAgeReport, formatProblem } from "../age/build-age-report.js";
import { parseCalendarDate, todayUtc } from "../time/calendar-date.js";
import { NEEDS_ACTION } from "../age/compute-age-report.js";
import { writeAgeJson, writeAgeTable } from "../age/format-age-table.js";

import { MANIFEST_PATH } from "../manifest/read-manifest.js";
import { readPolicies } from "../runbook/read-policies.js";
import { readCliConfig } from "./read-cli-config.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { readCommandLine } from "./usage.js";

/** `rotabot age`: the shell twin of /age and the replacement for scripts/check_secrets_age.{sh,py}. */
export async function runAgeCommand(args: string[], io: CliIo): Promise<number> {
  const line = readCommandLine("age", args, io);
  if (!line.ok) return line.exitCode;
  const { values } = line;

  const problems: string[] = [];
  const asOf = values["as-of"] === undefined ? todayUtc(io.now()) : parseCalendarDate(values["as-of"]);
  if (!asOf) problems.push(`--as-of "${values["as-of"]}" is not a date; write YYYY-MM-DD`);
  const dueSoonDays = Number(values["due-soon-days"]);
  if (!/^\d{1,5}$/.test(values["due-soon-days"]))
    problems.push(`--due-soon-days "${values["due-soon-days"]}" must be a whole number of days, 0 to 99999`);
  const read = readCliConfig(io, values.infra);
  const config = read.ok ? read.config : undefined;
  if (!read.ok) problems.push(...read.error.problems);
  const manifestFile =
    values.manifest !== undefined
      ? path.resolve(values.manifest)
      : config?.infraDir !== undefined
        ? path.join(config.infraDir, MANIFEST_PATH)
        : undefined;
  if (config && manifestFile === undefined)
    problems.push("no manifest: pass --infra DIR or --manifest FILE, or set INFRA_DIR");
  if (problems.length > 0 || !config || !asOf || manifestFile === undefined) {
    io.stderr(`rotabot age: ${problems.join("\n  ")}\n`);
    return EXIT.usage;
  }

  // Only the policies: the steps and checks are loaded (and validated) only when the policies cannot be read alone.
  const loaded = await readPolicies(config.runbookFile, async (file) =>
    (await import("../runbook/load-runbook.js")).loadRunbook(file),
  );
  if (!loaded.ok) {
    io.stderr(`rotabot age: the runbook is not valid:\n  ${loaded.problems.join("\n  ")}\n`);
    return EXIT.usage;
  }
  const report = await buildAgeReport(loaded, manifestFile, { asOf, dueSoonDays });
  (values.json ? writeAgeJson : writeAgeTable)(report.rows, io.stdout);
  if (report.problems.length > 0) {
    io.stderr(
      `rotabot age: ${report.problems.length} manifest problem(s)${report.readable ? ", those entries are left out" : ""}:\n  ${report.problems.map(formatProblem).join("\n  ")}\n`,
    );
    return EXIT.usage;
  }
  const attention = report.rows.filter((r) => NEEDS_ACTION.has(r.status)).length;
  if (!values.json && attention > 0)
    io.stderr(
      `${attention} secret(s) overdue or never rotated: rotate them with /rotate <key> in the ops chat, or rotabot rotate <key>.\n`,
    );
  return attention > 0 && !values["exit-zero"] ? EXIT.attention : EXIT.ok;
}
