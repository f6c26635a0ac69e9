import { Composer, type Context } from "grammy";
import type { Preflight } from "../../app/create-preflight.js";
import type { CheckResult } from "../../doctor/doctor-checks.js";
import type { Logger } from "../../logging/create-logger.js";
import { resolveTarget, unreadableManifest } from "../../runbook/resolve-target.js";
import type { Runbook } from "../../runbook/runbook-schema.js";
import { escapeHtml, packMessages } from "../../telegram/html.js";
import { todayUtc } from "../../time/calendar-date.js";
import { BUTTON_PATTERNS } from "../protocol/button-codec.js";

const ICON = { ok: "✔", warn: "⚠", fail: "✘" } as const;

/** One verdict in Telegram HTML: what passed in a line, what did not with its fix. */
function verdictLine(r: CheckResult): string {
  if (r.status === "ok") return `${ICON.ok} ${escapeHtml(r.check)}`;
  return `${ICON[r.status]} <b>${escapeHtml(r.check)}</b>: ${escapeHtml(r.detail)}${r.fix ? `\n    fix: ${escapeHtml(r.fix)}` : ""}`;
}

/**
 * A plan card's 🧪 Preflight: `rotabot preflight <secret>` from the chat. It runs in the background
 * (minutes: every playbook step with --check --diff), one at a time per secret, and posts one
 * verdict per step where it was pressed; the diffs stay on the ops host (rotabot preflight there).
 */
export function createPreflightFeature({
  preflight,
  runbook,
  manifestFile,
  logger,
  now,
}: {
  preflight: Preflight;
  runbook: Runbook;
  manifestFile: string;
  logger: Logger;
  now: () => Date;
}): Composer<Context> {
  const composer = new Composer<Context>();
  const running = new Set<string>();
  composer.callbackQuery(BUTTON_PATTERNS.preflight, async (ctx) => {
    const found = await resolveTarget(runbook, manifestFile, ctx.match[1]!, todayUtc(now()));
    if (found.kind === "unreadable") {
      // An alert holds 200 characters: the problems go to the chat in full.
      await ctx.answerCallbackQuery({ text: "The manifest cannot be read: the problems follow in the chat." });
      await ctx.reply(unreadableManifest(found, "press 🧪 Preflight"));
      return;
    }
    if (found.kind !== "found") {
      await ctx.answerCallbackQuery({
        text: "That secret is not in the runbook any more: send /rotate again.",
        show_alert: true,
      });
      return;
    }
    if (running.has(found.key)) {
      await ctx.answerCallbackQuery({
        text: `A preflight of ${found.key} is running already: its verdicts follow here.`,
      });
      return;
    }
    running.add(found.key);
    await ctx.answerCallbackQuery({
      text: `Preflight of ${found.key} started; it changes nothing. The verdicts follow here in a few minutes.`,
    });
    const chatId = ctx.chat!.id;
    void (async () => {
      try {
        const results = await preflight({ procedure: found.procedure, key: found.key });
        const failed = results.filter((r) => r.status === "fail").length;
        const header = `🧪 <b>Preflight of <code>${escapeHtml(found.key)}</code></b>: ${
          failed === 0
            ? "passed. A rotation would start, and every step rehearsed (--check --diff). Nothing was changed."
            : `${failed} problem${failed === 1 ? "" : "s"}: a rotation would be refused or stop there. Nothing was changed.`
        }\nThe diffs: <code>rotabot preflight ${escapeHtml(found.key)}</code> on the ops host.\n`;
        for (const html of packMessages(header, results.map(verdictLine)))
          await ctx.api.sendMessage(chatId, html, { parse_mode: "HTML" });
      } catch (error) {
        logger.error({ err: error, key: found.key }, "the preflight failed");
        await ctx.api
          .sendMessage(
            chatId,
            `🧪 The preflight of ${found.key} stopped on an error; run rotabot preflight ${found.key} on the ops host for the details.`,
          )
          .catch(() => undefined);
      } finally {
        running.delete(found.key);
      }
    })();
  });
  return composer;
}
