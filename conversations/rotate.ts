import { randomBytes } from "node:crypto";
import type { Conversation, ConversationFlavor } from "@grammyjs/conversations";
import { InlineKeyboard, type Context } from "grammy";
import { computeAgeReport, type AgeRow } from "../src/age/compute-age-report.js";
import { describeDue, plural, STATUS_ICON } from "../src/age/describe-age.js";
import { todayUtc } from "../src/time/calendar-date.js";
import type { Audit } from "../src/audit/create-audit.js";
import type { RotationEngine } from "../src/rotation/create-rotation-engine.js";
import { describePlan, type PlanContext, type PlanLine } from "../src/rotation/describe-plan.js";
import { outageEstimate, stepLabel } from "../src/rotation/queries.js";
import { resolveTarget, unreadableManifest } from "../src/runbook/resolve-target.js";
import { compromiseChoice, noCompromiseOrder, type CompromiseChoice } from "../src/rotation/describe-compromise.js";
import type { Runbook } from "../src/runbook/runbook-schema.js";
import { rotatableSecrets } from "../src/runbook/suggest-secrets.js";
import { escapeHtml, mentionHtml } from "../src/telegram/html.js";
import type { Actor } from "../src/model/rotation.js";
import { isMessageGone } from "../src/telegram/send-or-edit.js";
import { telegramActor } from "../src/telegram/telegram-actor.js";
import { clip, INCIDENT_REASON_MAX } from "../src/telegram/user-text.js";
import {
  decodeButton,
  encodeButton,
  pickPresses,
  planPresses,
  type PlanAction,
} from "../src/bot/protocol/button-codec.js";

/** The id under which the /rotate walkthrough is registered. */
export const ROTATE_CONVERSATION = "rotate";

/** A plan card as shown: where it is and its text without the buttons' lines (to settle it later). */
export interface PlanCard {
  chatId: number;
  messageId: number;
  /** The card's HTML without its last line ("… this plan expires in 15 minutes"). */
  settledHtml: string;
}

/**
 * Where the plan's buttons are known outside this dialog, so a press by someone else is answered
 * and audited, and where a newer plan finds the older card it replaces.
 */
export interface OpenPlans {
  open(nonce: string, plan: { ownerId: number; owner: string; key: string | undefined }): void;
  /** The plan's card is in the chat; returns the cards of the same person's older plans still open, which it replaces. */
  shown(nonce: string, card: PlanCard): PlanCard[];
  /** The plan was started, cancelled or refused: its card no longer waits for a press. */
  settled(nonce: string): void;
}

export interface RotateConversationDeps {
  engine: RotationEngine;
  audit: Audit;
  runbook: Runbook;
  manifestFile: string;
  /** What the plan's commands name in place of their placeholders. */
  paths: PlanContext["paths"];
  /** Whether the plan card offers 🧪 Preflight (a rehearsal of the rotation that changes nothing). */
  preflight?: boolean;
  dueSoonDays: number;
  plans: OpenPlans;
  now: () => Date;
  /** Runs a write with a card's priority in the chat's send budget (SendBudget.urgent). */
  urgent?: <T>(task: () => Promise<T>) => Promise<T>;
}

/** A secret offered as a button: its key and how due it is. */
interface Choice {
  key: string;
  label: string;
}

type Target =
  | {
      kind: "found";
      procedureId: string;
      key: string;
      owner: string | null;
      lastRotation: string | null;
      age: AgeRow | null;
    }
  | { kind: "ambiguous"; keys: string[] }
  | { kind: "choose"; close: Choice[]; all: Choice[] }
  | { kind: "unreadable"; message: string };

const PLAN_MINUTES = 15;
/** Secrets offered as buttons when no name (or no close name) was typed; /age lists the rest. */
const CHOICES_LISTED = 12;

/** The plan card's line for an approver asked by name: a mention, so Telegram notifies them. */
const PLAN_APPROVER = (approver: Actor) =>
  `👥 Approver asked: ${mentionHtml(approver)}. Only they can approve its two-person steps, until a prompt waiting for them expires unanswered; then any approver can.`;

/** A suspected compromise as /rotate gives it to the dialog: the reason, and since when (ISO), if said. */
export interface CompromiseArgument {
  reason: string;
  since?: string;
}

/**
 * /rotate <name> [incident <reason> | compromised <reason> [since <time>]]: resolves the secret (or offers the secrets as buttons, due
 * ones first, or the closest names to a typo), lets the operator pick among several API tokens,
 * shows the plan with Start and Cancel, and starts the engine. Everything after the start
 * (progress, confirmations, tokens) is the engine's and the presenter's: this dialog never waits
 * on a running step. `external` returns only names and ids, never a value.
 */
export function createRotateConversation(deps: RotateConversationDeps) {
  const { engine, audit, runbook, manifestFile, paths, dueSoonDays, plans, now, preflight = false } = deps;
  const urgent = deps.urgent ?? ((task) => task());
  /** resolveTarget's answer as the dialog keeps it (plain data: conversation.external replays it). */
  const targetOf = async (typed: string): Promise<Target> => {
    const asOf = todayUtc(now());
    const resolved = await resolveTarget(runbook, manifestFile, typed, asOf);
    if (resolved.kind === "unreadable")
      return { kind: "unreadable", message: unreadableManifest(resolved, "send /rotate") };
    const rows = computeAgeReport(runbook, resolved.entries, { asOf, dueSoonDays });
    const rowOf = (key: string) => rows.find((r) => r.key === key) ?? null;
    if (resolved.kind === "ambiguous") return { kind: "ambiguous", keys: resolved.keys };
    if (resolved.kind === "found")
      return {
        kind: "found",
        procedureId: resolved.procedure.id,
        key: resolved.key,
        owner: resolved.entry?.owner ?? null,
        lastRotation: resolved.entry?.lastRotation ?? null,
        age: rowOf(resolved.key),
      };
    const choice = (key: string): Choice => {
      const row = rowOf(key);
      return { key, label: row ? `${STATUS_ICON[row.status]} ${key} · ${describeDue(row)}` : key };
    };
    const rotatable = new Set(rotatableSecrets(runbook, resolved.entries).map((s) => s.key));
    const urgentFirst = [...rows.map((r) => r.key).filter((k) => rotatable.has(k)), ...rotatable];
    return { kind: "choose", close: resolved.close.map(choice), all: [...new Set(urgentFirst)].map(choice) };
  };

  return async function rotate(
    conversation: Conversation<ConversationFlavor<Context>, Context>,
    ctx: Context,
    typed: string,
    incident: string,
    compromised?: CompromiseArgument | null,
    approver?: Actor | null,
  ): Promise<void> {
    const user = ctx.from!;
    const nonce = await conversation.external(() => randomBytes(4).toString("hex"));
    const onlyInitiator = {
      otherwise: (other: Context) =>
        other.answerCallbackQuery({ text: `Only ${telegramActor(user).name} can answer this.`, show_alert: true }),
    };
    const waitOptions = { next: true, maxMilliseconds: PLAN_MINUTES * 60_000 };

    let target = await conversation.external(() => targetOf(typed));
    if (target.kind === "unreadable") {
      await ctx.reply(target.message);
      return;
    }
    if (target.kind === "choose") {
      const offered = target.close.length > 0 ? target.close : target.all.slice(0, CHOICES_LISTED);
      const keyboard = InlineKeyboard.from(
        offered.flatMap((c) => {
          const data = encodeButton({ kind: "due", key: c.key });
          return data ? [[InlineKeyboard.text(c.label, data)]] : [];
        }),
      );
      const more = target.all.length - offered.length;
      const unknown = `I have no procedure for “${clip(typed)}”`;
      const text =
        target.close.length > 0
          ? `${unknown}. Did you mean one of these? Press one to see its plan, or send /rotate alone for every secret.`
          : `${typed === "" ? "" : `${unknown}, and no secret has a name like it. `}Which secret? Most urgent first; press one to see its plan.${more > 0 ? ` ${more} more: /age lists them all.` : ""}`;
      await ctx.reply(text, { reply_markup: keyboard });
      return;
    }
    if (target.kind === "ambiguous") {
      const keys = target.keys;
      const keyboard = new InlineKeyboard();
      keys.forEach((key, index) => keyboard.text(key, encodeButton({ kind: "pick", nonce, index })).row());
      await conversation.external(() =>
        plans.open(nonce, { ownerId: user.id, owner: telegramActor(user).name, key: undefined }),
      );
      await ctx.reply(`“${clip(typed)}” fits several secrets. Which one?`, { reply_markup: keyboard });
      // Only the indexes offered match: a forged `pick|<nonce>|99` passes on to the catch-all, which answers it.
      const pick = await conversation
        .waitForCallbackQuery(pickPresses(nonce, keys.length), waitOptions)
        .andFrom(user.id, onlyInitiator);
      await pick.answerCallbackQuery();
      const picked = decodeButton(pick.callbackQuery.data);
      const key = picked?.kind === "pick" ? keys[picked.index] : undefined;
      if (key === undefined) return;
      target = await conversation.external(() => targetOf(key));
      if (target.kind !== "found") return;
    }

    const { procedureId, key, owner, lastRotation, age } = target;
    const outage = await conversation.external(async () => {
      const found = runbook.procedures.find((p) => p.id === procedureId);
      if (found) engine.prepare({ procedure: found, key }); // the --list-tasks checks, while the plan is read
      return found?.outage ? (outageEstimate(found, await engine.list()) ?? null) : null;
    });
    const procedure = runbook.procedures.find((p) => p.id === procedureId)!;
    if (compromised && !procedure.compromise) {
      await ctx.reply(`Not started: ${escapeHtml(noCompromiseOrder(procedure))}.`, { parse_mode: "HTML" });
      return;
    }
    const choice = compromised
      ? await conversation.external(async () => compromiseChoice(procedure, await engine.list()) ?? null)
      : null;
    const environments = runbook.environments.map((e) => e.name);
    const steps = describePlan(runbook, procedure, { key, paths }, compromised ? "compromise" : "routine")
      .map((l) => formatPlanStep(l, environments))
      .join("\n");
    const commandsButton = encodeButton({ kind: "commands", key });
    const lines = [
      `🔐 <b>Plan: rotate <code>${escapeHtml(key)}</code></b> (${escapeHtml(procedure.title)})`,
      `Last rotated: ${describeLastRotation(lastRotation, age)} · owner: ${escapeHtml(owner ?? "none in the manifest")}${incident ? ` · <b>incident</b>: ${escapeHtml(clip(incident, INCIDENT_REASON_MAX))}` : ""}`,
      ...againHint(age),
      `${environments.length > 1 ? "Environments, in rollout order" : "Environment"}: ${escapeHtml(environments.join(" → "))}`,
      ...(procedure.summary ? [`<i>${escapeHtml(procedure.summary)}</i>`] : []),
      ...(outage ? [`⏱ ${escapeHtml(outage)}`] : []),
      ...(compromised && choice ? compromiseLines(compromised, choice) : []),
      ...(approver ? [PLAN_APPROVER(approver)] : []),
      "",
      ...(compromised ? ["<b>Steps in the compromise order</b> (the routine order: /plan, or Start routine):"] : []),
      steps,
      "",
      `The commands behind each step: ${commandsButton ? "📜 Show commands, or " : ""}/plan ${escapeHtml(key)}.`,
    ];
    const settledHtml = lines.join("\n");
    const text = `${settledHtml}\nOnly ${escapeHtml(telegramActor(user).name)} can start it; this plan expires in ${PLAN_MINUTES} minutes.`;
    const button = (action: PlanAction) => encodeButton({ kind: "plan", nonce, ownerId: user.id, action });
    const keyboard = compromised
      ? new InlineKeyboard()
          .text("🚨 Start: compromise order", button("start"))
          .row()
          .text("▶️ Start: routine order", button("routine"))
          .text("✖️ Cancel", button("cancel"))
      : new InlineKeyboard().text("▶️ Start", button("start")).text("✖️ Cancel", button("cancel"));
    if (commandsButton) keyboard.row().text("📜 Show commands", commandsButton);
    const preflightButton = preflight ? encodeButton({ kind: "preflight", key }) : undefined;
    if (preflightButton) keyboard.text("🧪 Preflight", preflightButton);
    await conversation.external(() => plans.open(nonce, { ownerId: user.id, owner: telegramActor(user).name, key }));
    const planMessage = await ctx.reply(text, { parse_mode: "HTML", reply_markup: keyboard });
    const card = { chatId: planMessage.chat.id, messageId: planMessage.message_id, settledHtml };
    // An older plan of the same person loses its buttons and its expiry: only the newest one can start.
    const replaced = await conversation.external(() => plans.shown(nonce, card));
    for (const old of replaced)
      await settleCard(ctx, old, "⏭ Replaced by a newer plan below; this one can no longer be started.");
    // The topic of a forum supergroup the command was sent in: every card of the rotation goes there.
    const topic = ctx.msg?.is_topic_message ? ctx.msg.message_thread_id : undefined;
    // The card that answers presses: the plan, or after a refused start the message that says why (with Retry).
    let asking: PlanCard = card;

    for (;;) {
      const press = await conversation
        .waitForCallbackQuery(planPresses(nonce, user.id), waitOptions)
        .andFrom(user.id, onlyInitiator);
      await press.answerCallbackQuery();
      if (press.callbackQuery.data.endsWith("|cancel")) {
        await conversation.external(() => plans.settled(nonce));
        await settleCard(ctx, asking, `✖️ Cancelled by ${escapeHtml(telegramActor(user).name)}; nothing was done.`);
        return;
      }
      const order = press.callbackQuery.data.endsWith("|routine") ? ("routine" as const) : ("compromise" as const);
      const started = await conversation.external(async () => {
        const result = await engine.start({
          procedure,
          key,
          initiator: telegramActor(user),
          ...(incident ? { incident: { reason: incident } } : {}),
          ...(compromised
            ? {
                incident: { reason: compromised.reason },
                compromise: {
                  reason: compromised.reason,
                  since: compromised.since === undefined ? undefined : new Date(compromised.since),
                  order,
                },
              }
            : {}),
          owner: owner ?? undefined,
          topic,
          ...(approver ? { approver } : {}),
        });
        if (!result.ok)
          audit.record({ type: "rotation_refused", key, by: telegramActor(user).name, reason: result.message });
        return result.ok
          ? { ok: true as const, id: result.rotation.id }
          : { ok: false as const, message: result.message };
      });
      if (started.ok) {
        await conversation.external(() => plans.settled(nonce));
        await urgent(() =>
          settleCard(ctx, asking, `▶️ Started as rotation <code>${started.id}</code>: progress follows below.`),
        );
        return;
      }
      // Refused: the card says so and loses its buttons, and a new message says why, with Retry.
      await settleCard(
        ctx,
        asking,
        asking === card ? "🚫 Not started: the reason is below." : "🚫 Still not started: the reason is below.",
      );
      const refusal = `🚫 <b><code>${escapeHtml(key)}</code> was not started</b>: ${escapeHtml(sentence(started.message))}.\n\nPress Retry once that is resolved, or Cancel.`;
      const again = await ctx.reply(refusal, {
        parse_mode: "HTML",
        reply_markup: new InlineKeyboard().text("🔁 Retry", button("start")).text("✖️ Cancel", button("cancel")),
      });
      asking = { chatId: again.chat.id, messageId: again.message_id, settledHtml: refusal };
    }
  };
}

/** The plan card's incident lines: what leaked since when, and what each order costs and saves. */
function compromiseLines(compromised: CompromiseArgument, choice: CompromiseChoice): string[] {
  const last = (which: string | undefined) => (which ? ` Last measured here: ${escapeHtml(which)}.` : "");
  return [
    `🚨 <b>Incident: suspected compromise</b>: ${escapeHtml(clip(compromised.reason, INCIDENT_REASON_MAX))}. Exposed since ${escapeHtml(compromised.since ?? "the declaration (now)")}. The deploy guard is overridden; the owner is told at the start; the two-person rule still applies.`,
    `🚨 <b>Compromise order</b>: the old value is refused as early as the service allows.${last(choice.lastExposure.compromise)}`,
    `   Costs: ${escapeHtml(choice.outage)}`,
    `   Saves: ${escapeHtml(choice.saves)}`,
    `▶️ <b>Routine order</b>: the old value stays accepted until the rotation's last checks.${last(choice.lastExposure.routine)}`,
  ];
}

/**
 * Replaces a plan card's buttons and expiry with how it ended; a card someone deleted is posted
 * anew with the outcome, since the outcome is news (a rotation started) and never a failure.
 */
async function settleCard(ctx: Context, card: PlanCard, outcome: string): Promise<void> {
  const html = `${card.settledHtml}\n\n${outcome}`;
  try {
    await ctx.api.editMessageText(card.chatId, card.messageId, html, { parse_mode: "HTML" });
  } catch (error) {
    if (!isMessageGone(error)) throw error;
    await ctx.api.sendMessage(card.chatId, outcome, {
      parse_mode: "HTML",
      ...(ctx.msg?.is_topic_message ? { message_thread_id: ctx.msg.message_thread_id } : {}),
    });
  }
}

/** An engine refusal as a sentence of its own: capital first, no final full stop (the card adds it). */
function sentence(message: string): string {
  const trimmed = message.trim().replace(/\.$/, "");
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}`;
}

/** "2025-01-01 (330 days ago)", "2026-11-27 (today)" or "never". */
function describeLastRotation(lastRotation: string | null, age: AgeRow | null): string {
  if (lastRotation === null) return "never";
  return age?.age_days == null ? lastRotation : `${lastRotation} (${ago(age.age_days)})`;
}

/** A secret that is not due yet: say so before anyone presses Start on it by mistake. */
function againHint(age: AgeRow | null): string[] {
  if (age?.age_days == null || (age.status !== "ok" && age.age_days > 0)) return [];
  return [
    `🔁 <b>Rotated ${ago(age.age_days)} — rotate again?</b>${age.due_on ? ` It is not due until ${age.due_on}.` : ""}`,
  ];
}

const ago = (days: number) => (days === 0 ? "today" : `${plural(days, "day")} ago`);

/**
 * One step of a plan in Telegram HTML: its number and title, ⚠️ when it cannot be undone, and on
 * request its command, with the seed runbook's words and why the step differs where it does.
 */
export function formatPlanStep(line: PlanLine, environments: readonly string[], withCommand = false): string {
  const title = `${line.destructive ? "⚠️" : "▫️"} ${line.index}. ${escapeHtml(stepLabel(line, environments))}${line.destructive ? " <b>(cannot be undone)</b>" : ""}`;
  if (!withCommand) return title;
  return [
    title,
    ...(line.detail ? [`      <code>${escapeHtml(line.detail)}</code>`] : []),
    ...(line.seed ? [`      📖 The seed runbook says: <i>${escapeHtml(line.seed)}</i>`] : []),
    ...(line.note ? [`      ℹ️ ${escapeHtml(line.note)}`] : []),
  ].join("\n");
}
