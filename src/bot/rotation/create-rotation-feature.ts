import { Composer, InlineKeyboard, InputFile, type Context } from "grammy";
import { buildTimeline, readAuditOf, timelineMarkdown } from "../../audit/build-timeline.js";
import type { ConversationFlavor } from "@grammyjs/conversations";
import type { Audit } from "../../audit/create-audit.js";
import type { RotationEngine } from "../../rotation/create-rotation-engine.js";
import { currentStep, rollbackByEnvironment, unusedCredentials } from "../../rotation/queries.js";
import type { Rotation } from "../../model/rotation.js";
import { escapeHtml } from "../../telegram/html.js";
import { ROTATE_CONVERSATION } from "../../../conversations/rotate.js";
import type { Logger } from "../../logging/create-logger.js";
import {
  decodeButton,
  encodeButton,
  PROMPT_PREFIX,
  REVOKED_NONCE,
  ROTATION_ID,
  type ButtonAction,
} from "../protocol/button-codec.js";
import type { RotationPresenter } from "./create-rotation-presenter.js";
import { REFUSALS } from "../../rotation/prompts.js";
import { telegramActor } from "../../telegram/telegram-actor.js";
import { checkCompromiseReason, checkIncidentReason, clip } from "../../telegram/user-text.js";
import type { Result } from "../../result.js";
import { describeExposure } from "../../changelog/describe-exposure.js";
import { parseSince } from "../../time/parse-since.js";
import { splitApprover, type ApproverResolver } from "./resolve-approver.js";
import type { Actor } from "../../model/rotation.js";

export interface RotationFeatureDeps {
  engine: RotationEngine;
  presenter: RotationPresenter;
  audit: Audit;
  opsChatId: number;
  now: () => Date;
  logger: Logger;
  /** Where the audit log is, for /timeline. */
  stateDir: string;
  /** Who `/rotate … approver <who>` names (one of APPROVER_IDS), or why nobody. */
  resolveApprover: ApproverResolver;
}

const elapsed = (from: string, now: Date) => {
  const minutes = Math.round((now.getTime() - Date.parse(from)) / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
};

const ROTATE_USAGE =
  "Usage: /rotate <secret>, or /rotate <secret> incident <reason> to rotate during a deploy (the reason is recorded), or /rotate <secret> compromised <reason> [since <time>] when the value may have leaked; end with approver @name to ask that approver by name (two-person rule).";

/**
 * The words after `compromised`: the reason, and when the value may have leaked if the words end
 * in `since <time>` that reads as one (`since 3h ago`, `since 2026-12-07T09:30Z`); a `since` that
 * does not read as a time stays part of the reason.
 */
function compromiseWords(words: string[], now: Date): Result<{ reason: string; since: string | undefined }, "invalid"> {
  const at = words.map((w) => w.toLowerCase()).lastIndexOf("since");
  const since = at > 0 ? parseSince(words.slice(at + 1).join(" "), now) : undefined;
  const reasonWords = since?.ok ? words.slice(0, at) : words;
  const checked = checkCompromiseReason(
    reasonWords.join(" "),
    "/rotate signalwire compromised PAT pasted in #general, INC-51",
  );
  if (!checked.ok) return checked;
  return { ok: true, reason: checked.reason, since: since?.ok ? since.since.toISOString() : undefined };
}

/** The one argument of /cancel and /resume: a rotation id, or why the words typed are not one. */
function rotationIdArgument(command: string, match: string): { id: string | undefined } | { problem: string } {
  const [id, ...extra] = match.trim().split(/\s+/).filter(Boolean);
  if (extra.length > 0)
    return {
      problem: `I did not understand “${clip(extra.join(" "))}” after the rotation id. Usage: /${command} [rotation id]`,
    };
  if (id !== undefined && !ROTATION_ID.test(id))
    return { problem: `“${clip(id)}” is not a rotation id (they look like 20260101-0930-ab12); /status lists them.` };
  return { id };
}

/** A press is answered within this long, whatever the engine is doing (Telegram gives about ten seconds). */
const ANSWER_WITHIN_MS = 800;

/** The short note on a press whose work goes on after the answer. */
const WORKING: Partial<Record<ButtonAction, string>> & { default: string } = {
  abort: "Aborting: rolling back…",
  cancel: "Cancelling: rolling back…",
  retry: "Running it again…",
  default: "Working on it…",
};

/** The promise's value if it settles within `ms`, else undefined (it goes on in the background). */
async function settledWithin<T>(ms: number, task: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([task, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where an aborting or failed rollback stands, for /status: its steps, or each environment and the way out. */
function rollbackLines(r: Readonly<Rotation>): string {
  const steps = r.rollback?.steps ?? [];
  if (r.state === "aborting") {
    const done = steps.filter((s) => s.state === "done" || s.state === "skipped").length;
    const now = steps.find((s) => s.state === "running");
    return `\n   rolling back: ${done}/${steps.length} steps done${now ? `, now “${escapeHtml(now.title)}”` : ""}`;
  }
  if (r.state !== "rollback_failed") return "";
  return `${rollbackByEnvironment(r)
    .map((line) => `\n   ${escapeHtml(line)}`)
    .join("")}\n   🔁 Retry on its card (/resume ${r.id} posts it again), or rotabot abort ${r.id} --retry-rollback`;
}

/** Rotations that left credentials created outside unused: each with what to do, and a Revoked button. */
function leftOutsideReply(left: readonly Readonly<Rotation>[]) {
  const keyboard = new InlineKeyboard();
  const lines = left.map((r) => {
    keyboard
      .text(
        `✅ Revoked: ${r.key} [${r.id}]`,
        encodeButton({ kind: "prompt", rotationId: r.id, nonce: REVOKED_NONCE, action: "revoked" }),
      )
      .row();
    const todo = unusedCredentials(r).map((c) => escapeHtml(c.revoke));
    return `⚠️ <code>${escapeHtml(r.key)}</code> [<code>${r.id}</code>] (${r.state.replace("_", " ")}) left credentials created for it still valid: ${todo.join("; ")}`;
  });
  return { lines, keyboard };
}

/** /rotate, /status, /cancel, /resume, /history and the rotation prompt buttons. */
export function createRotationFeature(deps: RotationFeatureDeps): Composer<ConversationFlavor<Context>> {
  const { engine, presenter, audit, opsChatId, now, logger } = deps;
  const composer = new Composer<ConversationFlavor<Context>>();

  composer.command("rotate", async (ctx) => {
    if (ctx.chat.id !== opsChatId) {
      await ctx.reply("Start rotations in the ops chat, so the team sees them. I will ask for tokens here, privately.");
      return;
    }
    const [name, ...words] = ctx.match.trim().split(/\s+/).filter(Boolean);
    const split = splitApprover(words);
    if (!split.ok) {
      await ctx.reply(`Not started: ${split.message}.\n${ROTATE_USAGE}`);
      return;
    }
    const rest = split.words;
    let approver: Actor | undefined;
    if (split.who !== undefined) {
      const resolved = await deps.resolveApprover(split.who, ctx.from!.id);
      if (!resolved.ok) {
        await ctx.reply(`Not started: ${resolved.message}.`);
        return;
      }
      approver = resolved.approver;
    }
    // No name: the dialog offers the secrets as buttons, due ones first.
    const mode = rest[0]?.toLowerCase();
    if (rest.length > 0 && mode !== "incident" && mode !== "compromised") {
      await ctx.reply(`I did not understand “${clip(rest.join(" "))}” after the secret name.\n${ROTATE_USAGE}`);
      return;
    }
    if (mode === "compromised") {
      const compromise = compromiseWords(rest.slice(1), now());
      if (!compromise.ok) {
        await ctx.reply(`Not started: ${compromise.message}.\n${ROTATE_USAGE}`);
        return;
      }
      await ctx.conversation.exitAll();
      await ctx.conversation.enter(
        ROTATE_CONVERSATION,
        name ?? "",
        "",
        { reason: compromise.reason, ...(compromise.since ? { since: compromise.since } : {}) },
        approver ?? null,
      );
      return;
    }
    let incident = "";
    if (rest.length > 0) {
      const checked = checkIncidentReason(rest.slice(1).join(" "));
      if (!checked.ok) {
        await ctx.reply(`Not started: ${checked.message}.\n${ROTATE_USAGE}`);
        return;
      }
      incident = checked.reason;
    }
    await ctx.conversation.exitAll();
    await ctx.conversation.enter(ROTATE_CONVERSATION, name ?? "", incident, null, approver ?? null);
  });

  composer.command("status", async (ctx) => {
    const active = await engine.active();
    const damaged = (await engine.damaged()).map((d) => escapeHtml(REFUSALS.damaged(d.id, d.problem)));
    const left = leftOutsideReply(await engine.leftOutside());
    if (active.length === 0 && damaged.length === 0 && left.lines.length === 0) {
      await ctx.reply("No rotation in flight.");
      return;
    }
    const lines = active.map((r) => {
      const step = currentStep(r);
      const waiting = r.awaiting
        ? `\n   waiting for ${escapeHtml(r.initiator.name)}: ${r.awaiting.kind.replace("_", " ")}`
        : "";
      return `🔐 <code>${escapeHtml(r.key)}</code> [<code>${r.id}</code>] by ${escapeHtml(r.initiator.name)}, ${elapsed(r.createdAt, now())}\n   ${r.state.replace("_", " ")} at step ${step ? `${r.steps.indexOf(step) + 1}/${r.steps.length} “${escapeHtml(step.title)}”${step.environment ? ` in ${escapeHtml(step.environment)}` : ""}` : "-"}${waiting}${rollbackLines(r)}`;
    });
    await ctx.reply([...damaged, ...lines, ...left.lines].join("\n\n"), {
      parse_mode: "HTML",
      ...(left.lines.length > 0 ? { reply_markup: left.keyboard } : {}),
    });
  });

  composer.command("cancel", async (ctx) => {
    const argument = rotationIdArgument("cancel", ctx.match);
    if ("problem" in argument) {
      await ctx.reply(argument.problem);
      return;
    }
    const mine = (await engine.active()).filter(
      (r) => r.initiator.id === `tg:${ctx.from?.id}` && (argument.id === undefined || r.id === argument.id),
    );
    if (mine.length !== 1) {
      await ctx.reply(
        mine.length === 0
          ? "You have no rotation in flight. /status lists every rotation."
          : `You have several rotations in flight; name one: ${mine.map((r) => `/cancel ${r.id}`).join(", ")}`,
      );
      return;
    }
    const result = await engine.abort(mine[0]!.id, telegramActor(ctx.from!));
    if (!result.ok) await ctx.reply(`Cannot cancel: ${result.message}`);
  });

  composer.command("resume", async (ctx) => {
    const argument = rotationIdArgument("resume", ctx.match);
    if ("problem" in argument) {
      await ctx.reply(argument.problem);
      return;
    }
    const id = argument.id;
    if (!id) {
      const stopped = (await engine.active()).filter((r) => r.state !== "running");
      await ctx.reply(
        stopped.length === 0
          ? "Nothing to resume."
          : `Resumable: ${stopped.map((r) => `/resume ${r.id} (${r.key}, ${r.state.replace("_", " ")})`).join(", ")}`,
      );
      return;
    }
    // The card the resume asks waits until "Resuming rotation …" is in the chat, so it stands below it.
    const release = presenter.hold(id);
    try {
      const result = await engine.resume(id);
      if (!result.ok) await ctx.reply(`Cannot resume: ${result.message}`);
      else await ctx.reply(`Resuming rotation ${id} of ${result.rotation.key}.`);
    } finally {
      release();
    }
  });

  composer.command("timeline", async (ctx) => {
    const argument = rotationIdArgument("timeline", ctx.match);
    if ("problem" in argument || argument.id === undefined) {
      await ctx.reply(
        "problem" in argument ? argument.problem : "Usage: /timeline <rotation id> (/history lists them).",
      );
      return;
    }
    const rotation = await engine.get(argument.id);
    if (!rotation) {
      await ctx.reply(`No rotation ${argument.id} in the journal; /history lists them.`);
      return;
    }
    const entries = buildTimeline(rotation, await readAuditOf(deps.stateDir, rotation.id));
    // As a file: a timeline outgrows one message, and Markdown pastes as it is into a post-mortem.
    await ctx.replyWithDocument(
      new InputFile(Buffer.from(timelineMarkdown(rotation, entries)), `timeline-${rotation.id}.md`),
      {
        caption: `🧾 Timeline of rotation ${rotation.id} (${rotation.key}): ${entries.length} entries, from the journal and the audit log.`,
      },
    );
  });

  composer.command("history", async (ctx) => {
    const recent = (await engine.list()).slice(0, 10);
    if (recent.length === 0) {
      await ctx.reply("No rotations yet.");
      return;
    }
    await ctx.reply(
      recent
        .map(
          (r) =>
            `${r.createdAt.slice(0, 16).replace("T", " ")} <code>${escapeHtml(r.key)}</code> ${r.state} by ${escapeHtml(r.initiator.name)}${r.commit ? ` (${escapeHtml(r.commit)})` : ""}${r.compromise ? `\n   🚨 ${escapeHtml(r.compromise.reason)}; ${escapeHtml(describeExposure(r)!)}` : ""}`,
        )
        .join("\n"),
      { parse_mode: "HTML" },
    );
  });

  composer.callbackQuery(PROMPT_PREFIX, async (ctx) => {
    const decoded = decodeButton(ctx.callbackQuery.data);
    const button = decoded?.kind === "prompt" ? decoded : undefined;
    const rotation = button ? await engine.get(button.rotationId) : undefined;
    if (!button || !rotation) {
      await ctx.answerCallbackQuery({
        text: "This button is not one of mine, or its rotation is gone. /status shows what is in flight.",
        show_alert: true,
      });
      return;
    }
    const actor = telegramActor(ctx.from);
    const by = {
      id: actor.id,
      name: ctx.from.first_name,
      ...(ctx.from.username ? { username: ctx.from.username } : {}),
    };
    const recordRefusal = (reason: string) =>
      audit.record({ type: "press_refused", rotation: { id: rotation.id, key: rotation.key }, by, reason });
    const refuse = async (reason: string) => {
      recordRefusal(reason);
      await ctx.answerCallbackQuery({ text: clip(reason, 190), show_alert: true });
    };
    if (button.action === "revoked") {
      const marked = await engine.markRevoked(rotation.id, actor);
      await ctx.answerCallbackQuery({ text: marked.ok ? "Recorded: revoked" : clip(marked.message, 190) });
      return;
    }
    if (button.action === "ask_again") {
      // Only the token request it was sent with may be asked again, by whoever may answer it.
      const allowed = await engine.mayAnswer(rotation.id, button.nonce, "collect", actor);
      if (!allowed.ok && allowed.reason === "not_allowed") return refuse(allowed.message);
      if (!allowed.ok) {
        await ctx.answerCallbackQuery({ text: clip(allowed.message, 190), show_alert: allowed.reason !== "stale" });
        return;
      }
      await ctx.answerCallbackQuery();
      await presenter.repost(rotation.id);
      return;
    }
    // Telegram refuses an answer after about ten seconds, and a Retry or an abort may take minutes:
    // the press is answered once the engine has taken it, or at the latest after a moment with a
    // short note; what comes later arrives as messages (progress, cards, and a refusal said here).
    const pending = engine.respond(rotation.id, button.nonce, { type: button.action }, actor);
    const result = await settledWithin(ANSWER_WITHIN_MS, pending);
    if (result) {
      if (!result.ok && result.reason === "not_allowed") return refuse(result.message);
      await ctx.answerCallbackQuery(
        // Taken: an abort or a Retry goes on after the answer (the engine returns once it is journaled).
        result.ok
          ? { text: WORKING[button.action] ?? "OK" }
          : { text: result.message.slice(0, 190), show_alert: result.reason !== "stale" },
      );
      return;
    }
    await ctx.answerCallbackQuery({ text: WORKING[button.action] ?? WORKING.default });
    const chatId = ctx.chat?.id;
    const card = ctx.callbackQuery.message;
    const threadId = card && "is_topic_message" in card && card.is_topic_message ? card.message_thread_id : undefined;
    void pending
      .then(async (late) => {
        if (late.ok || chatId === undefined) return;
        if (late.reason === "not_allowed") recordRefusal(late.message);
        await ctx.api.sendMessage(chatId, `${ctx.from.first_name}, your press was not taken: ${late.message}`, {
          ...(threadId !== undefined ? { message_thread_id: threadId } : {}),
        });
      })
      .catch((error: unknown) => logger.error({ err: error, rotationId: rotation.id }, "a pressed button failed"));
  });

  return composer;
}
