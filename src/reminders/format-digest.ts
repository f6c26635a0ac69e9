import { InlineKeyboard } from "grammy";
import type { AgeReport } from "../age/build-age-report.js";
import type { AgeRow, AgeStatus } from "../age/compute-age-report.js";
import { formatAgeRow } from "../age/format-age-message.js";
import { plural } from "../age/describe-age.js";
import { escapeHtml } from "../telegram/html.js";
import { encodeButton } from "../bot/protocol/button-codec.js";

/** Statuses the daily digest reports: what needs action now or within the due-soon window. */
export const DIGEST_STATUSES: ReadonlySet<AgeStatus> = new Set(["overdue", "never_rotated", "due_soon"]);

export interface Digest {
  html: string;
  keyboard: InlineKeyboard;
  keys: string[];
}

/** At most this many secrets are listed with a button; the rest are counted (Telegram caps a message). */
const MAX_LISTED = 30;

/**
 * The daily digest: every secret overdue, never rotated or due soon, each with a Rotate button
 * that opens the /rotate plan. Undefined when nothing needs action, so nothing is sent.
 * A manifest that cannot be read is reported too: a silent digest would hide it.
 */
export function formatDigest(
  report: AgeReport,
  { asOf, manifestFile }: { asOf: string; manifestFile: string },
): Digest | undefined {
  if (!report.readable) {
    return {
      html: `⚠️ <b>Daily secret check</b> (${asOf}): the manifest <code>${escapeHtml(manifestFile)}</code> cannot be read. Run <code>rotabot age</code> on the ops host to see why, fix it, then send /age.`,
      keyboard: new InlineKeyboard(),
      keys: [],
    };
  }
  const rows = report.rows.filter((r) => DIGEST_STATUSES.has(r.status));
  if (rows.length === 0) return undefined;
  const listed = rows.slice(0, MAX_LISTED);
  const keyboard = rotateButtons(listed);
  const more = rows.length > listed.length ? [`…and ${rows.length - listed.length} more: send /age overdue.`] : [];
  const html = [
    `⏰ <b>Daily secret check</b> (${asOf}): ${summary(rows)}`,
    ...listed.map(formatAgeRow),
    ...more,
    "Press Rotate to see the plan, or send /age for every secret.",
  ].join("\n\n");
  return { html, keyboard, keys: listed.map((r) => r.key) };
}

/**
 * A Rotate button for each secret that needs action (overdue, never rotated, due soon), at most
 * 30: each opens the /rotate plan of its secret (see createDigestButtons). The digest and /age use it.
 */
export function rotateButtons(rows: readonly AgeRow[]): InlineKeyboard {
  const keyboard = new InlineKeyboard();
  for (const row of rows.filter((r) => DIGEST_STATUSES.has(r.status)).slice(0, MAX_LISTED)) {
    const data = encodeButton({ kind: "due", key: row.key });
    if (data) keyboard.text(`Rotate ${row.key}`, data).row();
  }
  return keyboard;
}

function summary(rows: AgeRow[]): string {
  const count = (status: AgeStatus) => rows.filter((r) => r.status === status).length;
  return [
    [count("overdue"), "overdue"],
    [count("never_rotated"), "never rotated"],
    [count("due_soon"), "due soon"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${plural(n as number, "secret")} ${what as string}`)
    .join(", ");
}
