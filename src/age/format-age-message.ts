import { formatProblem, type AgeReport } from "./build-age-report.js";
import { NEEDS_ACTION, type AgeRow } from "./compute-age-report.js";
import { describeDue, plural, STATUS_ICON } from "./describe-age.js";
import { escapeHtml, packMessages } from "../telegram/html.js";

export interface AgeMessageOptions {
  asOf: string;
  onlyNeedsAction: boolean;
  manifestFile: string;
}

/** The /age report as Telegram HTML messages, each under the length limit. */
export function formatAgeMessages(
  report: AgeReport,
  { asOf, onlyNeedsAction, manifestFile }: AgeMessageOptions,
): string[] {
  const needAction = report.rows.filter((r) => NEEDS_ACTION.has(r.status));
  const dueSoon = report.rows.filter((r) => r.status === "due_soon");
  const shown = onlyNeedsAction ? needAction : report.rows;
  const summary = report.readable
    ? `${needAction.length === 0 ? "✅ nothing needs action" : `❗ ${plural(needAction.length, "secret")} need${needAction.length === 1 ? "s" : ""} action`}${dueSoon.length > 0 ? `, ${dueSoon.length} due soon` : ""}`
    : "⚠️ the manifest could not be read";
  const header = `<b>Secret ages</b> as of ${asOf}: ${summary}`;
  const blocks = shown.map(formatAgeRow);
  if (report.readable && shown.length === 0) {
    blocks.push(
      onlyNeedsAction
        ? "Nothing is overdue or never rotated. Send /age for every secret."
        : "The manifest lists no secrets.",
    );
  }
  if (report.problems.length > 0) {
    blocks.push(
      `⚠️ <b>${plural(report.problems.length, "manifest problem")}</b> (${report.readable ? "those entries are left out" : "nothing could be read"}):`,
    );
    blocks.push(...report.problems.map((p) => `• <code>${escapeHtml(formatProblem(p))}</code>`));
    blocks.push(`Fix <code>${escapeHtml(manifestFile)}</code> and send /age again.`);
  }
  return packMessages(header, blocks);
}

export function formatAgeRow(row: AgeRow): string {
  const details = [
    describeDue(row),
    row.due_on ? `due ${row.due_on}` : null,
    row.last_rotation ? `last ${row.last_rotation}` : null,
    row.policy ? `every ${row.policy}` : null,
    row.owner ? escapeHtml(row.owner) : null,
  ].filter((d): d is string => d !== null);
  return `${STATUS_ICON[row.status]} <code>${escapeHtml(row.key)}</code>\n     ${details.join(" · ")}`;
}
