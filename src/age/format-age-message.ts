import { formatProblem, type AgeReport } from "./build-age-report.js";
import { NEEDS_ACTION, type AgeRow } from "./compute-age-report.js";
import { describeDue, plural, STATUS_ICON } from "./describe-age.js";
import { formatAgeTable } from "./format-age-table.js";
import { escapeHtml, MESSAGE_LIMIT, visibleLength } from "../telegram/html.js";

export interface AgeMessageOptions {
  asOf: string;
  onlyNeedsAction: boolean;
  manifestFile: string;
}

/** The /age reply: always one message; when not everything fits, the full report goes along as a file. */
export interface AgeReply {
  html: string;
  document?: { filename: string; content: string };
}

/** Room left for Telegram's own counting quirks. */
const LIMIT = MESSAGE_LIMIT - 96;
/** An owner or key longer than this is cut in chat (the file and `rotabot age` show it whole). */
const MAX_FIELD = 80;

/**
 * The /age report as one Telegram HTML message, most urgent secrets first. A manifest too big for
 * one message gets a summary, the rows that fit and the full report as a text file, so a
 * 50,000-entry manifest costs two messages, not thousands.
 */
export function formatAgeReply(
  report: AgeReport,
  { asOf, onlyNeedsAction, manifestFile }: AgeMessageOptions,
): AgeReply {
  const needAction = report.rows.filter((r) => NEEDS_ACTION.has(r.status));
  const dueSoon = report.rows.filter((r) => r.status === "due_soon");
  const shown = onlyNeedsAction ? needAction : report.rows;
  const summary = report.readable
    ? `${needAction.length === 0 ? "✅ nothing needs action" : `❗ ${plural(needAction.length, "secret")} need${needAction.length === 1 ? "s" : ""} action`}${dueSoon.length > 0 ? `, ${dueSoon.length} due soon` : ""}`
    : "⚠️ the manifest could not be read";
  const header = `<b>Secret ages</b> as of ${asOf}: ${summary}`;

  const rowBlocks = shown.map(formatAgeRow);
  if (report.readable && shown.length === 0) {
    rowBlocks.push(
      onlyNeedsAction
        ? "Nothing is overdue or never rotated. Send /age for every secret."
        : "The manifest lists no secrets.",
    );
  }
  const problemBlocks = report.problems.map((p) => `• <code>${escapeHtml(cut(formatProblem(p), 300))}</code>`);
  const problemHeader =
    report.problems.length === 0
      ? []
      : [
          `⚠️ <b>${plural(report.problems.length, "manifest problem")}</b> (${report.readable ? "those entries are left out" : "nothing could be read"}):`,
        ];
  const fix = report.problems.length === 0 ? [] : [`Fix <code>${escapeHtml(manifestFile)}</code> and send /age again.`];

  const whole = [header, ...rowBlocks, ...problemHeader, ...problemBlocks, ...fix].join("\n");
  if (visibleLength(whole) <= LIMIT) return { html: whole };

  // Too long for one message: a few problems, then as many of the most urgent rows as fit, then more problems.
  const footer = (rows: number, problems: number) =>
    [
      rows < shown.length ? `… and ${plural(shown.length - rows, "more secret")} not shown here.` : null,
      problems < report.problems.length
        ? `… and ${plural(report.problems.length - problems, "more problem")} not shown here.`
        : null,
      "The full report is in the attached file and in <code>rotabot age</code> on the ops host.",
      ...fix,
    ]
      .filter((line): line is string => line !== null)
      .join("\n");
  let room = LIMIT - [header, ...problemHeader, footer(0, 0)].reduce((sum, block) => sum + visibleLength(block) + 1, 0);
  const take = (blocks: readonly string[], max = Infinity) => {
    const taken: string[] = [];
    for (const block of blocks) {
      const cost = visibleLength(block) + 1;
      if (taken.length >= max || cost > room) break;
      room -= cost;
      taken.push(block);
    }
    return taken;
  };
  const firstProblems = take(problemBlocks, 5);
  const rows = take(rowBlocks);
  const problems = [...firstProblems, ...take(problemBlocks.slice(firstProblems.length))];
  const html = [
    header,
    ...rows,
    ...(problems.length > 0 ? problemHeader : []),
    ...problems,
    footer(rows.length, problems.length),
  ].join("\n");
  return {
    html,
    document: { filename: `secret-ages-${asOf}.txt`, content: formatAgeFile(report, shown, manifestFile) },
  };
}

/** The full report as plain text: the `rotabot age` table, then every problem. */
function formatAgeFile(report: AgeReport, rows: readonly AgeRow[], manifestFile: string): string {
  const problems = report.problems.map((p) => formatProblem(p));
  return [
    `Secret ages from ${manifestFile}`,
    "",
    formatAgeTable(rows),
    ...(problems.length > 0 ? ["", `${plural(problems.length, "manifest problem")}:`, ...problems] : []),
    "",
  ].join("\n");
}

/** One secret as a chat block: icon, key, and what is due when. */
export function formatAgeRow(row: AgeRow): string {
  const details = [
    describeDue(row),
    row.due_on ? `due ${row.due_on}` : null,
    row.last_rotation ? `last ${row.last_rotation}` : null,
    row.policy ? `every ${row.policy}` : null,
    row.owner ? escapeHtml(cut(row.owner, MAX_FIELD)) : null,
  ].filter((d): d is string => d !== null);
  return `${STATUS_ICON[row.status]} <code>${escapeHtml(cut(row.key, MAX_FIELD))}</code>\n     ${details.join(" · ")}`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
