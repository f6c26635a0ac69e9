import { Composer, InputFile, type Context } from "grammy";
import { buildAgeReport } from "../../age/build-age-report.js";
import type { CalendarDate } from "../../time/calendar-date.js";
import type { Runbook } from "../../runbook/runbook-schema.js";
import { escapeHtml } from "../../telegram/html.js";
import { clip } from "../../telegram/user-text.js";
import { formatAgeReply } from "../../age/format-age-message.js";
import { rotateButtons } from "../../reminders/format-digest.js";

export interface AgeFeatureDeps {
  runbook: Runbook;
  manifestFile: string;
  dueSoonDays: number;
  today: () => CalendarDate;
  /** Rotate buttons are offered in the ops chat only: rotations start there. */
  opsChatId: number;
}

/**
 * /age and /age overdue: the same report as `rotabot age`, read fresh from the manifest; one
 * message (and a file when long). In the ops chat, like the daily digest, with a Rotate button
 * for each secret that needs action.
 */
export function createAgeFeature({
  runbook,
  manifestFile,
  dueSoonDays,
  today,
  opsChatId,
}: AgeFeatureDeps): Composer<Context> {
  const composer = new Composer<Context>();
  composer.command("age", async (ctx) => {
    const filter = ctx.match.trim().toLowerCase();
    if (filter !== "" && filter !== "overdue") {
      await ctx.reply(
        `Unknown filter “${escapeHtml(clip(filter))}”. Send /age for every secret or /age overdue for what needs action.`,
        { parse_mode: "HTML" },
      );
      return;
    }
    const asOf = today();
    const report = await buildAgeReport(runbook, manifestFile, { asOf, dueSoonDays });
    const reply = formatAgeReply(report, { asOf, onlyNeedsAction: filter === "overdue", manifestFile });
    const buttons = ctx.chat.id === opsChatId ? rotateButtons(report.rows) : undefined;
    await ctx.reply(reply.html, {
      parse_mode: "HTML",
      ...(buttons && buttons.inline_keyboard.length > 0 ? { reply_markup: buttons } : {}),
    });
    if (reply.document) {
      await ctx.replyWithDocument(new InputFile(Buffer.from(reply.document.content), reply.document.filename));
    }
  });
  return composer;
}
