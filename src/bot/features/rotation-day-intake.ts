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
  /** How long the day waits for one credential before it asks that one at its turn. */
  waitMs?: number;
}

/** The day waits this long for each credential asked up front, then leaves it to its turn. */
const WAIT_MINUTES = 15;

/** What the day is told of the values as they are kept and given (its journal keeps their endings, never a value). */
export interface HeldListener {
  kept: (held: Readonly<HeldValue>) => Promise<void>;
  given: (key: string) => Promise<void>;
}

interface Asking {
  dayId: string;
  nonce: string;
  userId: number;
  asks: readonly UpFrontAsk[];
  index: number;
  questionId?: number;
  /** Every question of this day asked so far: a reply to a closed one is refused, never passed on. */
  asked: number[];
  timer?: NodeJS.Timeout;
  listener: HeldListener;
  finish: () => void;
}

/**
 * A rotation day's credentials made by hand, asked up front in the initiator's private chat (the
 * chat's counterpart of `rotabot rotate --due`'s prompts): each value is taken out of its update
 * at once (the message deleted, the text replaced), format-checked, taught to the redactor and held
 * in this process's memory only, never in a file, the journal or the conversation storage. When
 * its rotation's collect step asks, the day answers it with the held value (no request is posted:
 * `answers`), after that rotation claimed the vault, and forgets it. A restart forgets held values:
 * the day's journal keeps their endings, so the resumed day names them to revoke, and each is
 * asked at its turn, as one left by ⏭ is.
 */
export function createDayIntake({
  api,
  engine,
  redactor,
  logger,
  openRequests,
  repost,
  waitMs = WAIT_MINUTES * 60_000,
}: DayIntakeDeps) {
  let asking: Asking | undefined;
  let held: HeldValue[] = [];
  /** Nonces of collect prompts the day answers itself with a held value. */
  const answering = new Set<string>();

  async function ask(a: Asking): Promise<void> {
    const { item, step } = a.asks[a.index]!;
    const text = `🗓 Rotation day <code>${escapeHtml(a.dayId)}</code>, credential ${a.index + 1} of ${a.asks.length}: <b>${escapeHtml(item.key)}</b>\n\n${escapeHtml(step.title)}, then send it here as a plain message (${escapeHtml(step.format.hint)}). I delete your message and keep the value in memory only: when its rotation's turn comes, it goes into the vault as <code>${escapeHtml(newKeyOf(item.key))}</code>.\n\n⏭ leaves it to be asked at its turn, as happens after ${WAIT_MINUTES} minutes without an answer.`;
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
    a.timer = setTimeout(() => void advance(a, `⌛ No answer in time: ${item.key} is asked at its turn.`), waitMs);
  }

  /** Closes the current question (its button goes, a line says what became of it) and asks the next, or ends. */
  async function advance(a: Asking, outcome: string): Promise<void> {
    if (asking !== a) return;
    clearTimeout(a.timer);
    const closed = a.questionId;
    a.questionId = undefined;
    a.index++;
    if (closed !== undefined)
      await api.editMessageReplyMarkup(a.userId, closed, { reply_markup: undefined }).catch(() => undefined);
    await api.sendMessage(a.userId, outcome).catch(() => undefined);
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
    // A reply to a rotation's own open request is that request's; everything else is the day's.
    if (repliedTo !== undefined && openRequests(a.userId).some((r) => r.messageId === repliedTo)) return next();
    // Read before any await: the question may close meanwhile (⏭, its time), and the value must not go to the next one.
    const question = a.questionId;
    const index = a.index;
    ctx.message!.text = "[secret taken by rotabot]";
    await ctx.deleteMessage().catch(() => undefined);
    if (question === undefined || asking !== a || a.index !== index) {
      await ctx.reply(
        "Nothing was kept: that question had just closed. Your message was deleted; if the value is a live credential, send it when its rotation asks for it.",
      );
      return;
    }
    const current = a.asks[index]!;
    const others = openRequests(a.userId);
    if (repliedTo === undefined && others.length > 0) {
      await ctx.reply(
        `Nothing was kept: I wait for ${current.item.key} for the rotation day and for ${others.map((r) => `${r.key} for rotation ${r.rotationId}`).join(", ")}, and cannot tell which one this is. Send it again as a reply to my request for that secret.`,
      );
      return;
    }
    if (repliedTo !== undefined && repliedTo !== question && a.asked.includes(repliedTo)) {
      await ctx.reply(
        `Nothing was kept: you replied to a question of mine that is closed (kept, left for its turn, or out of time). Your message was deleted. The open question is for ${current.item.key}; if the value was for another secret, send it when its rotation asks for it.`,
      );
      return;
    }
    const checked = holdValue(current, text, redactor);
    if ("refused" in checked) {
      await ctx.reply(
        `Nothing was kept: that does not look like ${checked.refused}. Send the value for ${current.item.key} again, or press ⏭ to be asked at its turn.`,
      );
      return;
    }
    held.push(checked.held);
    await a.listener.kept(checked.held);
    await advance(
      a,
      `🔐 Kept for ${current.item.key}, ends in …${checked.held.ending}: in memory until its rotation's turn.`,
    );
  };

  return {
    /** Installed before the rotations' own secret intake, so the day's values never reach it. */
    middleware,

    /** The credential the day waits for from this user now, if any (the exposure guard checks a group message against it). */
    waitingFor(userId: number): UpFrontAsk | undefined {
      const a = asking;
      return a && a.userId === userId && a.questionId !== undefined ? a.asks[a.index] : undefined;
    },

    /**
     * Asks the day's initiator, one after another, for each credential of `asks`; resolves once
     * each was kept, left for its turn (⏭) or waited for in vain. `unreachable` when the bot may
     * not write to the user yet (they never started it): every value is then asked at its turn.
     */
    async collect(
      day: { id: string; nonce: string; userId: number },
      asks: readonly UpFrontAsk[],
      listener: HeldListener,
    ): Promise<{ kept: HeldValue[]; unreachable: boolean }> {
      if (asks.length === 0) return { kept: [], unreachable: false };
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const a: Asking = {
        dayId: day.id,
        nonce: day.nonce,
        userId: day.userId,
        asks,
        index: 0,
        asked: [],
        listener,
        finish,
      };
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

    /**
     * ⏭ on a question: that credential is asked at its rotation's turn. Says at once whether the
     * button is the open question's (the press is answered before the next question is sent).
     */
    later(nonce: string, userId: number, messageId: number | undefined): boolean {
      const a = asking;
      if (!a || a.nonce !== nonce || a.userId !== userId || a.questionId !== messageId) return false;
      void advance(a, `⏭ ${a.asks[a.index]!.item.key}: asked at its turn.`);
      return true;
    },

    /** True when the day answers this collect prompt itself with a held value. */
    answers: (nonce: string) => answering.has(nonce),

    /**
     * While `key`'s rotation (started by `actor`, who gave the value) runs: answers its collect
     * prompt with the held value once the engine is idle (a step before it may still be running),
     * then forgets the value. A value not taken goes back to the held ones (named at the end if no
     * rotation takes it), the operator is told, and the rotation's own request is posted. Returns
     * the unsubscribe.
     */
    answerFor(key: string, actor: Actor, listener: HeldListener): () => void {
      return engine.on((event) => {
        if (event.type !== "awaiting" || event.awaiting.kind !== "collect") return;
        if (event.rotation.key !== key || event.rotation.initiator.id !== actor.id) return;
        const value = heldFor(held, key, event.awaiting.stepId);
        if (!value) return;
        value.used = true;
        const { nonce } = event.awaiting;
        answering.add(nonce);
        const rotationId = event.rotation.id;
        const giveBack = async (reason: string) => {
          logger.warn({ rotationId, key, reason }, "a rotation day's held value was not taken");
          value.used = false;
          answering.delete(nonce);
          const userId = Number(actor.id.replace(/^tg:/, ""));
          await api
            .sendMessage(
              userId,
              `The value you gave up front for ${key} (…${value.ending}) was not taken (${reason}). Answer the rotation's own request below; if you send another value, revoke this one: ${value.revokeIfUnused ?? "it is unused"}.`,
            )
            .catch(() => undefined);
          await repost(rotationId);
        };
        void (async () => {
          // Answered once the step before the collect has let go of the rotation (else "busy").
          const current = await engine.settled(rotationId);
          if (current?.awaiting?.nonce !== nonce) return giveBack("the rotation no longer asked for it");
          const result = await engine.respond(rotationId, nonce, { type: "collect", value: value.value }, actor);
          if (!result.ok) return giveBack(result.message);
          held = held.filter((h) => h !== value);
          await listener.given(key);
        })().catch((error: unknown) => giveBack(error instanceof Error ? error.message : String(error)));
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
