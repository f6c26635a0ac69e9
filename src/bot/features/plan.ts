import { Composer, InlineKeyboard, type Context } from "grammy";
import { formatPlanStep } from "../../../conversations/rotate.js";
import { describePlan, type PlanContext } from "../../rotation/describe-plan.js";
import { resolveTarget, unreadableManifest } from "../../runbook/resolve-target.js";
import type { Procedure, Runbook } from "../../runbook/runbook-schema.js";
import { todayUtc } from "../../time/calendar-date.js";
import { escapeHtml, packMessages } from "../../telegram/html.js";
import { clip } from "../../telegram/user-text.js";
import { BUTTON_PATTERNS, encodeButton } from "../protocol/button-codec.js";

export interface PlanFeatureDeps {
  runbook: Runbook;
  manifestFile: string;
  paths: PlanContext["paths"];
  now: () => Date;
}

const USAGE =
  "Send /plan <secret>, for example /plan telegram: every step of its rotation with the exact command it runs. Nothing is started.";

/** /plan <name> and a plan card's 📜 Show commands: every step with its command (paths filled in, never a value). */
export function createPlanFeature({ runbook, manifestFile, paths, now }: PlanFeatureDeps): Composer<Context> {
  const composer = new Composer<Context>();
  const keyButtons = (keys: readonly string[]) =>
    InlineKeyboard.from(
      keys.flatMap((key) => {
        const data = encodeButton({ kind: "commands", key });
        return data ? [[InlineKeyboard.text(key, data)]] : [];
      }),
    );
  const sendCommands = async (ctx: Context, procedure: Procedure, key: string) => {
    const environments = runbook.environments.map((e) => e.name);
    const header = [
      `📜 <b>Commands for rotating <code>${escapeHtml(key)}</code></b> (${escapeHtml(procedure.title)})`,
      "Paths are filled in; values never appear here (a step reads &lt;new value&gt; from the vault when it runs). A step without a command is rotabot's own or asks you when it comes.",
      "",
    ].join("\n");
    const blocks = describePlan(runbook, procedure, { key, paths }).map((l) => formatPlanStep(l, environments, true));
    for (const html of packMessages(header, blocks)) await ctx.reply(html, { parse_mode: "HTML" });
  };
  const show = async (ctx: Context, typed: string) => {
    const found = await resolveTarget(runbook, manifestFile, typed, todayUtc(now()));
    if (found.kind === "unreadable") return ctx.reply(unreadableManifest(found, "send /plan"));
    if (found.kind === "found") return sendCommands(ctx, found.procedure, found.key);
    if (found.kind === "ambiguous")
      return ctx.reply(`“${clip(typed)}” fits several secrets. Which one?`, { reply_markup: keyButtons(found.keys) });
    const close = found.close;
    return ctx.reply(
      `I have no procedure for “${clip(typed)}”.${close.length > 0 ? " Did you mean:" : ` ${USAGE}`}`,
      close.length > 0 ? { reply_markup: keyButtons(close) } : {},
    );
  };

  composer.command("plan", async (ctx) => {
    const typed = ctx.match.trim();
    await (typed === "" ? ctx.reply(USAGE) : show(ctx, typed));
  });
  composer.callbackQuery(BUTTON_PATTERNS.commands, async (ctx) => {
    await ctx.answerCallbackQuery();
    await show(ctx, ctx.match[1]!);
  });
  return composer;
}
