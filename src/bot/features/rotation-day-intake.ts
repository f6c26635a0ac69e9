import { GrammyError, InlineKeyboard, type Api, type Context, type MiddlewareFn } from "grammy";
import type { Logger } from "../../logging/create-logger.js";
import type { Redactor } from "../../logging/redactor.js";
import { newKeyOf } from "../../model/new-key.js";
import type { Actor } from "../../model/rotation.js";
import type { RotationEngine } from "../../rotation/create-rotation-engine.js";
import {
  heldFor,
  holdValue,
  unusedHeldWarnings,
  type HeldValue,
  type UpFrontAsk,
} from "../../rotation-day/held-values.js";
import { escapeHtml } from "../../telegram/html.js";
import { encodeButton } from "../protocol/button-codec.js";
import type { OpenRequest } from "../rotation/create-rotation-presenter.js";

export interface DayIntakeDeps {
  api: Api;
  engine: RotationEngine;
  redactor: Pick<Redactor, "add">;
  logger: Logger;
  /** The token requests of running rotations that wait for this user's private message. */
  openRequests: (userId: number) => readonly OpenRequest[];
  /** Posts a rotation's current prompt again (the presenter's repost), when a held value could not be given. */
  repost: (rotationId: string) => Promise<void>;
  /** How long the day waits for one credential before it asks the rest at their turn. */
  waitMs?: number;
}

/** The day waits this long for each credential asked up front, then leaves it and the rest to their turn. */
const WAIT_MS = 15 * 60_000;

interface Asking {
  dayId: string;
  nonce: string;
  userId: number;
  asks: readonly UpFrontAsk[];
  index: number;
  questionId?: number;
  /** Every question of this day asked so far: a reply to an answered one is refused, never passed on. */
  asked: number[];
  timer?: NodeJS.Timeout;
  finish: () => void;
}

/**
 * A rotation day's credentials made by hand, asked up front in the initiator's private chat (the
 * chat's counterpart of `rotabot rotate --due`'s prompts): each value is taken out of its update
 * at once (the message deleted, the text replaced), format-checked, taught to the redactor and held
 * in this process's memory only, never in a file, the journal or the conversation storage. When
 * its rotation's collect step asks, the day answers it with the held value (no request is posted:
 * `answers`), after that rotation claimed the vault. A restart forgets held values: each is then
 * asked at its turn, as a value left by ⏭ is.
 */
export function createDayIntake({
  api,
  engine,
  redactor,
  logger,
  openRequests,
  repost,
  waitMs = WAIT_MS,
}: DayIntakeDeps) {
  let asking: Asking | undefined;
  let held: HeldValue[] = [];
  /** Nonces of collect prompts the day answers itself with a held value. */
  const answering = new Set<string>();

  async function ask(a: Asking): Promise<void> {
    const { item, step } = a.asks[a.index]!;
    const key = escapeHtml(item.key);
    const text = `🗓 Rotation day <code>${escapeHtml(a.dayId)}</code>, credential ${a.index + 1} of ${a.asks.length}: <b>${key}</b>\n\n${escapeHtml(step.prompt)}\n\nSend it here as a plain message: I delete your message and keep the value in memory only, until its rotation's turn stores it in the vault as <code>${escapeHtml(newKeyOf(item.key))}</code>. ⏭ leaves it to be asked at its turn.`;
    const sent = await api.sendMessage(a.userId, text, {
      parse_mode: "HTML",
      reply_markup: new InlineKeyboard().text(
        "⏭ Ask at its turn",
        encodeButton({ kind: "day", nonce: a.nonce, action: "later" }),
      ),
    });
    a.questionId = sent.message_id;
    a.asked.push(sent.message_id);
    clearTimeout(a.timer);
    a.timer = setTimeout(() => void advance(a, "⌛ No answer in time: asked at its turn."), waitMs);
  }

  /** Closes the current question (its button goes, a line says what became of it) and asks the next, or ends. */
  async function advance(a: Asking, outcome: string): Promise<void> {
    if (asking !== a) return;
    clearTimeout(a.timer);
    const closed = a.questionId;
    a.questionId = undefined;
    if (closed !== undefined)
      await api.editMessageReplyMarkup(a.userId, closed, { reply_markup: undefined }).catch(() => undefined);
    await api.sendMessage(a.userId, outcome).catch(() => undefined);
    a.index++;
    if (a.index < a.asks.length) {
      try {
        return await ask(a);
      } catch (error) {
        logger.warn({ err: error, day: a.dayId }, "could not ask for a rotation day's credential");
      }
    }
    asking = undefined;
    a.finish();
  }

  const middleware: MiddlewareFn<Context> = async (ctx, next) => {
    const a = asking;
    const text = ctx.message?.text;
    if (!a || ctx.chat?.type !== "private" || ctx.from?.id !== a.userId) return next();
    if (text === undefined || text.startsWith("/")) return next();
    const repliedTo = ctx.message?.reply_to_message?.message_id;
    // A reply to another request is that request's business (the rotation's own intake).
    if (repliedTo !== undefined && !a.asked.includes(repliedTo)) return next();
    ctx.message!.text = "[secret taken by rotabot]";
    await ctx.deleteMessage().catch(() => undefined);
    if (a.questionId === undefined) {
      await ctx.reply("Nothing was kept: wait for my next question, then send the value as a plain message.");
      return;
    }
    if (repliedTo !== undefined && repliedTo !== a.questionId) {
      await ctx.reply(
        `Nothing was kept: you replied to a question I asked before, which was answered. Your message was deleted. If the value is a live credential, revoke it where it was issued; the open question is the last one I sent.`,
      );
      return;
    }
    const { item } = a.asks[a.index]!;
    const others = openRequests(a.userId);
    if (repliedTo === undefined && others.length > 0) {
      await ctx.reply(
        `Nothing was kept: I wait for ${item.key} for the rotation day and for ${others.map((r) => `${r.key} for rotation ${r.rotationId}`).join(", ")}, and cannot tell which one this is. Send it again as a reply to my request for that secret.`,
      );
      return;
    }
    const checked = holdValue(a.asks[a.index]!, text);
    if ("refused" in checked) {
      await ctx.reply(
        `Nothing was kept: that does not look like ${checked.refused}. Send the value for ${item.key} again, or press ⏭ to be asked at its turn.`,
      );
      return;
    }
    if (checked.held.value.length >= 6) redactor.add(checked.held.value);
    held = [...held.filter((h) => !(h.key === checked.held.key && h.stepId === checked.held.stepId)), checked.held];
    await advance(a, `🔐 Kept for ${item.key}, ends in …${checked.held.ending}: in memory until its rotation's turn.`);
  };

  return {
    /** Installed before the rotations' own secret intake, so the day's values never reach it. */
    middleware,

    /**
     * Asks the day's initiator, one after another, for each credential of `asks`; resolves once
     * each was kept, left for its turn (⏭) or waited for in vain. `unreachable` when the bot may
     * not write to the user yet (they never started it): every value is then asked at its turn.
     */
    async collect(
      dayId: string,
      nonce: string,
      userId: number,
      asks: readonly UpFrontAsk[],
    ): Promise<{ kept: HeldValue[]; unreachable: boolean }> {
      held = [];
      if (asks.length === 0) return { kept: [], unreachable: false };
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const a: Asking = { dayId, nonce, userId, asks, index: 0, asked: [], finish };
      asking = a;
      try {
        await ask(a);
      } catch (error) {
        asking = undefined;
        if (error instanceof GrammyError && error.error_code === 403) return { kept: [], unreachable: true };
        throw error;
      }
      await done;
      return { kept: [...held], unreachable: false };
    },

    /** ⏭ on a question: that credential is asked at its rotation's turn. False when the button is not the open question's. */
    async later(nonce: string, userId: number, messageId: number | undefined): Promise<boolean> {
      const a = asking;
      if (!a || a.nonce !== nonce || a.userId !== userId || a.questionId !== messageId) return false;
      await advance(a, `⏭ ${a.asks[a.index]!.item.key}: asked at its turn.`);
      return true;
    },

    /** True when the day answers this collect prompt itself with a held value. */
    answers: (nonce: string) => answering.has(nonce),

    /**
     * While `key`'s rotation runs: answers its collect prompt with the held value as `actor` (who
     * gave it). Returns the unsubscribe.
     */
    answerFor(key: string, actor: Actor): () => void {
      return engine.on((event) => {
        if (event.type !== "awaiting" || event.rotation.key !== key || event.awaiting.kind !== "collect") return;
        const value = heldFor(held, key, event.awaiting.stepId);
        if (!value) return;
        value.used = true;
        const { nonce } = event.awaiting;
        answering.add(nonce);
        const rotationId = event.rotation.id;
        void engine
          .respond(rotationId, nonce, { type: "collect", value: value.value }, actor)
          .then(async (result) => {
            if (result.ok) return;
            // Not taken (the prompt moved on, the rotation was busy): the operator is asked as usual.
            logger.warn({ rotationId, key, reason: result.message }, "a rotation day's held value was not taken");
            answering.delete(nonce);
            await repost(rotationId);
          })
          .catch((error: unknown) => logger.error({ err: error, rotationId }, "a rotation day's held value failed"));
      });
    },

    /** The day ended: what to say of each held value no rotation took, and they are forgotten. */
    release(by: string): string[] {
      const warnings = unusedHeldWarnings(held, by);
      held = [];
      answering.clear();
      return warnings;
    },
  };
}
export type DayIntake = ReturnType<typeof createDayIntake>;
