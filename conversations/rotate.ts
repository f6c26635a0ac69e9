import { randomBytes } from "node:crypto";
import type { Conversation, ConversationFlavor } from "@grammyjs/conversations";
import { InlineKeyboard, type Context } from "grammy";
import { todayUtc } from "../src/time/calendar-date.js";
import { readManifest } from "../src/manifest/read-manifest.js";
import type { Audit } from "../src/audit/create-audit.js";
import type { RotationEngine } from "../src/rotation/create-rotation-engine.js";
import { describePlan } from "../src/rotation/describe-plan.js";
import { outageEstimate, stepLabel } from "../src/rotation/queries.js";
import { findProcedure } from "../src/runbook/find-procedure.js";
import type { Runbook } from "../src/runbook/runbook-schema.js";
import { escapeHtml } from "../src/telegram/html.js";
import { telegramActor } from "../src/telegram/telegram-actor.js";
import { clip, INCIDENT_REASON_MAX } from "../src/telegram/user-text.js";

/** The id under which the /rotate walkthrough is registered. */
export const ROTATE_CONVERSATION = "rotate";

export interface RotateConversationDeps {
  engine: RotationEngine;
  audit: Audit;
  runbook: Runbook;
  manifestFile: string;
  now: () => Date;
}

type Target =
  | { kind: "found"; procedureId: string; key: string; owner: string | null; lastRotation: string | null }
  | { kind: "ambiguous"; keys: string[] }
  | { kind: "unknown"; known: string[] }
  | { kind: "unreadable"; message: string };

const PLAN_MINUTES = 15;
/** Names listed when the typed one is unknown; a manifest with hundreds of API tokens must still fit one message. */
const KNOWN_LISTED = 40;

/**
 * /rotate <name> [incident <reason>]: resolves the secret, lets the operator pick among several
 * API tokens, shows the plan with Start and Cancel, and starts the engine. Everything after the
 * start (progress, confirmations, tokens) is the engine's and the presenter's: this dialog never
 * waits on a running step. `external` returns only names and ids, never a value.
 */
export function createRotateConversation({ engine, audit, runbook, manifestFile, now }: RotateConversationDeps) {
  const resolveTarget = async (typed: string): Promise<Target> => {
    const manifest = await readManifest(manifestFile, {
      categories: new Set(Object.keys(runbook.policies)),
      asOf: todayUtc(now()),
    });
    if (!manifest.ok)
      return {
        kind: "unreadable",
        message: manifest.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("; "),
      };
    const found = findProcedure(runbook, manifest.entries, typed);
    if (found.kind === "unknown") return { kind: "unknown", known: found.known };
    if (found.kind === "ambiguous") return { kind: "ambiguous", keys: found.keys };
    const entry = manifest.entries.find((e) => e.key === found.key);
    return {
      kind: "found",
      procedureId: found.procedure.id,
      key: found.key,
      owner: entry?.owner ?? null,
      lastRotation: entry?.lastRotation ?? null,
    };
  };

  return async function rotate(
    conversation: Conversation<ConversationFlavor<Context>, Context>,
    ctx: Context,
    typed: string,
    incident: string,
  ): Promise<void> {
    const user = ctx.from!;
    const nonce = await conversation.external(() => randomBytes(4).toString("hex"));
    const onlyInitiator = {
      otherwise: (other: Context) =>
        other.answerCallbackQuery({ text: `Only ${telegramActor(user).name} can answer this.`, show_alert: true }),
    };
    const waitOptions = { next: true, maxMilliseconds: PLAN_MINUTES * 60_000 };

    let target = await conversation.external(() => resolveTarget(typed));
    if (target.kind === "unreadable") {
      await ctx.reply(
        `The manifest cannot be read: ${target.message}. Fix it (rotabot age shows every problem) and send /rotate again.`,
      );
      return;
    }
    if (target.kind === "unknown") {
      const known = target.known.slice(0, KNOWN_LISTED).join(", ");
      const more =
        target.known.length > KNOWN_LISTED ? `, … (${target.known.length - KNOWN_LISTED} more: /age lists them)` : "";
      await ctx.reply(`I have no procedure for “${clip(typed)}”. Try one of: ${known}${more}`);
      return;
    }
    if (target.kind === "ambiguous") {
      const keys = target.keys;
      const keyboard = new InlineKeyboard();
      keys.forEach((key, i) => keyboard.text(key, `pick|${nonce}|${i}`).row());
      await ctx.reply(`“${clip(typed)}” fits several secrets. Which one?`, { reply_markup: keyboard });
      // Only the indexes offered match: a forged `pick|<nonce>|99` passes on to the catch-all, which answers it.
      const offered = keys.map((_, i) => i).join("|");
      const pick = await conversation
        .waitForCallbackQuery(new RegExp(`^pick\\|${nonce}\\|(${offered})$`), waitOptions)
        .andFrom(user.id, onlyInitiator);
      await pick.answerCallbackQuery();
      const key = keys[Number(pick.callbackQuery.data.split("|")[2])];
      if (key === undefined) return;
      target = await conversation.external(() => resolveTarget(key));
      if (target.kind !== "found") return;
    }

    const { procedureId, key, owner, lastRotation } = target;
    const outage = await conversation.external(async () => {
      const found = runbook.procedures.find((p) => p.id === procedureId);
      if (found) engine.prepare({ procedure: found, key }); // the --list-tasks checks, while the plan is read
      return found?.outage ? (outageEstimate(found, await engine.list()) ?? null) : null;
    });
    const procedure = runbook.procedures.find((p) => p.id === procedureId)!;
    const environments = runbook.environments.map((e) => e.name);
    const plan = describePlan(runbook, procedure)
      .map(
        (l) =>
          `${l.destructive ? "⚠️" : "▫️"} ${l.index}. ${escapeHtml(stepLabel(l, environments))}${l.destructive ? " <b>(cannot be undone)</b>" : ""}${l.detail ? `\n      <code>${escapeHtml(l.detail)}</code>` : ""}`,
      )
      .join("\n");
    const text = [
      `🔐 <b>Plan: rotate <code>${escapeHtml(key)}</code></b> (${escapeHtml(procedure.title)})`,
      `Last rotated: ${lastRotation ?? "never"} · owner: ${escapeHtml(owner ?? "none in the manifest")}${incident ? ` · <b>incident</b>: ${escapeHtml(clip(incident, INCIDENT_REASON_MAX))}` : ""}`,
      `${environments.length > 1 ? "Environments, in rollout order" : "Environment"}: ${escapeHtml(environments.join(" → "))}`,
      ...(procedure.summary ? [`<i>${escapeHtml(procedure.summary)}</i>`] : []),
      ...(outage ? [`⏱ ${escapeHtml(outage)}`] : []),
      "",
      plan,
      "",
      `Only ${escapeHtml(telegramActor(user).name)} can start it; this plan expires in ${PLAN_MINUTES} minutes.`,
    ].join("\n");
    const keyboard = new InlineKeyboard()
      .text("▶️ Start", `plan|${nonce}|start`)
      .text("✖️ Cancel", `plan|${nonce}|cancel`);
    const planMessage = await ctx.reply(text, { parse_mode: "HTML", reply_markup: keyboard });

    const press = await conversation
      .waitForCallbackQuery(new RegExp(`^plan\\|${nonce}\\|(start|cancel)$`), waitOptions)
      .andFrom(user.id, onlyInitiator);
    await press.answerCallbackQuery();
    if (press.callbackQuery.data.endsWith("|cancel")) {
      await ctx.api.editMessageText(
        planMessage.chat.id,
        planMessage.message_id,
        `${text}\n\n✖️ Cancelled by ${escapeHtml(telegramActor(user).name)}; nothing was done.`,
        { parse_mode: "HTML" },
      );
      return;
    }
    const started = await conversation.external(async () => {
      const result = await engine.start({
        procedure,
        key,
        initiator: telegramActor(user),
        ...(incident ? { incident: { reason: incident } } : {}),
        owner: owner ?? undefined,
      });
      if (!result.ok)
        audit.record({ type: "rotation_refused", key, by: telegramActor(user).name, reason: result.message });
      return result.ok
        ? { ok: true as const, id: result.rotation.id }
        : { ok: false as const, message: result.message };
    });
    const outcome = started.ok
      ? `▶️ Started as rotation <code>${started.id}</code>: progress follows below.`
      : `🚫 Not started: ${escapeHtml(started.message)}`;
    await ctx.api.editMessageText(planMessage.chat.id, planMessage.message_id, `${text}\n\n${outcome}`, {
      parse_mode: "HTML",
    });
  };
}
