import { randomBytes } from "node:crypto";
import type { Conversation, ConversationFlavor } from "@grammyjs/conversations";
import { InlineKeyboard, type Context } from "grammy";
import { computeAgeReport, type AgeRow } from "../src/age/compute-age-report.js";
import { describeDue, plural, STATUS_ICON } from "../src/age/describe-age.js";
import { todayUtc } from "../src/time/calendar-date.js";
import { readManifest } from "../src/manifest/read-manifest.js";
import type { Audit } from "../src/audit/create-audit.js";
import { DIGEST_BUTTON } from "../src/reminders/format-digest.js";
import type { RotationEngine } from "../src/rotation/create-rotation-engine.js";
import { describePlan, type PlanContext, type PlanLine } from "../src/rotation/describe-plan.js";
import { outageEstimate, stepLabel } from "../src/rotation/queries.js";
import { findProcedure } from "../src/runbook/find-procedure.js";
import type { Runbook } from "../src/runbook/runbook-schema.js";
import { closestSecrets, rotatableSecrets } from "../src/runbook/suggest-secrets.js";
import { escapeHtml } from "../src/telegram/html.js";
import { telegramActor } from "../src/telegram/telegram-actor.js";
import { clip, INCIDENT_REASON_MAX } from "../src/telegram/user-text.js";

/** The id under which the /rotate walkthrough is registered. */
export const ROTATE_CONVERSATION = "rotate";

/** Where the plan's buttons are known outside this dialog, so a press by someone else is answered and audited. */
export interface OpenPlans {
  open(nonce: string, plan: { ownerId: number; owner: string; key: string | undefined }): void;
}

/** Callback data of the buttons that pick one of several secrets: `pick|<nonce>|<index>`. */
export const PICK_BUTTON = /^pick\|([0-9a-f]{8})\|\d{1,3}$/;
/** Callback data of a plan's buttons: `plan|<nonce>|<Telegram id of who may press>|<action>`. */
export const PLAN_BUTTON = /^plan\|([0-9a-f]{8})\|(\d{1,20})\|(start|cancel)$/;
/** Callback data of "Show commands": `cmd|<vault key>` (the commands are the same for whoever asks). */
export const COMMANDS_BUTTON = /^cmd\|([A-Za-z0-9_]{1,60})$/;
/** Callback data of "Preflight": `pre|<vault key>` (a rehearsal that changes nothing, for any operator). */
export const PREFLIGHT_BUTTON = /^pre\|([A-Za-z0-9_]{1,60})$/;

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

/**
 * /rotate <name> [incident <reason>]: resolves the secret (or offers the secrets as buttons, due
 * ones first, or the closest names to a typo), lets the operator pick among several API tokens,
 * shows the plan with Start and Cancel, and starts the engine. Everything after the start
 * (progress, confirmations, tokens) is the engine's and the presenter's: this dialog never waits
 * on a running step. `external` returns only names and ids, never a value.
 */
export function createRotateConversation(deps: RotateConversationDeps) {
  const { engine, audit, runbook, manifestFile, paths, dueSoonDays, plans, now, preflight = false } = deps;
  const resolveTarget = async (typed: string): Promise<Target> => {
    const asOf = todayUtc(now());
    const manifest = await readManifest(manifestFile, { categories: new Set(Object.keys(runbook.policies)), asOf });
    if (!manifest.ok)
      return {
        kind: "unreadable",
        message: manifest.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("; "),
      };
    const rows = computeAgeReport(runbook, manifest.entries, { asOf, dueSoonDays });
    const rowOf = (key: string) => rows.find((r) => r.key === key) ?? null;
    const found = typed === "" ? undefined : findProcedure(runbook, manifest.entries, typed);
    if (found?.kind === "ambiguous") return { kind: "ambiguous", keys: found.keys };
    if (found?.kind === "found") {
      const entry = manifest.entries.find((e) => e.key === found.key);
      return {
        kind: "found",
        procedureId: found.procedure.id,
        key: found.key,
        owner: entry?.owner ?? null,
        lastRotation: entry?.lastRotation ?? null,
        age: rowOf(found.key),
      };
    }
    const secrets = rotatableSecrets(runbook, manifest.entries);
    const choice = (key: string): Choice => {
      const row = rowOf(key);
      return { key, label: row ? `${STATUS_ICON[row.status]} ${key} · ${describeDue(row)}` : key };
    };
    const rotatable = new Set(secrets.map((s) => s.key));
    const urgentFirst = [...rows.map((r) => r.key).filter((k) => rotatable.has(k)), ...rotatable];
    return {
      kind: "choose",
      close: typed === "" ? [] : closestSecrets(typed, secrets).map(choice),
      all: [...new Set(urgentFirst)].map(choice),
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
    if (target.kind === "choose") {
      const offered = target.close.length > 0 ? target.close : target.all.slice(0, CHOICES_LISTED);
      const keyboard = InlineKeyboard.from(
        offered
          .filter((c) => DIGEST_BUTTON.test(`due|${c.key}`))
          .map((c) => [InlineKeyboard.text(c.label, `due|${c.key}`)]),
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
      keys.forEach((key, i) => keyboard.text(key, `pick|${nonce}|${i}`).row());
      await conversation.external(() =>
        plans.open(nonce, { ownerId: user.id, owner: telegramActor(user).name, key: undefined }),
      );
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

    const { procedureId, key, owner, lastRotation, age } = target;
    const outage = await conversation.external(async () => {
      const found = runbook.procedures.find((p) => p.id === procedureId);
      if (found) engine.prepare({ procedure: found, key }); // the --list-tasks checks, while the plan is read
      return found?.outage ? (outageEstimate(found, await engine.list()) ?? null) : null;
    });
    const procedure = runbook.procedures.find((p) => p.id === procedureId)!;
    const environments = runbook.environments.map((e) => e.name);
    const steps = describePlan(runbook, procedure, { key, paths })
      .map((l) => formatPlanStep(l, environments))
      .join("\n");
    const commandsButton = COMMANDS_BUTTON.test(`cmd|${key}`);
    const text = [
      `🔐 <b>Plan: rotate <code>${escapeHtml(key)}</code></b> (${escapeHtml(procedure.title)})`,
      `Last rotated: ${describeLastRotation(lastRotation, age)} · owner: ${escapeHtml(owner ?? "none in the manifest")}${incident ? ` · <b>incident</b>: ${escapeHtml(clip(incident, INCIDENT_REASON_MAX))}` : ""}`,
      ...againHint(age),
      `${environments.length > 1 ? "Environments, in rollout order" : "Environment"}: ${escapeHtml(environments.join(" → "))}`,
      ...(procedure.summary ? [`<i>${escapeHtml(procedure.summary)}</i>`] : []),
      ...(outage ? [`⏱ ${escapeHtml(outage)}`] : []),
      "",
      steps,
      "",
      `The commands behind each step: ${commandsButton ? "📜 Show commands, or " : ""}/plan ${escapeHtml(key)}.`,
      `Only ${escapeHtml(telegramActor(user).name)} can start it; this plan expires in ${PLAN_MINUTES} minutes.`,
    ].join("\n");
    const button = (action: "start" | "cancel") => `plan|${nonce}|${user.id}|${action}`;
    const keyboard = new InlineKeyboard().text("▶️ Start", button("start")).text("✖️ Cancel", button("cancel"));
    if (commandsButton) keyboard.row().text("📜 Show commands", `cmd|${key}`);
    if (preflight && PREFLIGHT_BUTTON.test(`pre|${key}`)) keyboard.text("🧪 Preflight", `pre|${key}`);
    await conversation.external(() => plans.open(nonce, { ownerId: user.id, owner: telegramActor(user).name, key }));
    const planMessage = await ctx.reply(text, { parse_mode: "HTML", reply_markup: keyboard });

    const press = await conversation
      .waitForCallbackQuery(new RegExp(`^plan\\|${nonce}\\|${user.id}\\|(start|cancel)$`), waitOptions)
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
