import { randomBytes } from "node:crypto";
import type { ConversationFlavor } from "@grammyjs/conversations";
import { Composer, InlineKeyboard, type Api, type Context } from "grammy";
import type { Logger } from "../../logging/create-logger.js";
import { readManifest } from "../../manifest/read-manifest.js";
import type { RotationEngine } from "../../rotation/create-rotation-engine.js";
import type { Actor } from "../../model/rotation.js";
import { isTerminal } from "../../rotation/queries.js";
import { createDayJournal, newDayId, type Day } from "../../rotation-day/create-day-journal.js";
import { describeDayEnd, describeDayEntries, describeDayPlan } from "../../rotation-day/describe-day.js";
import { takeLostUpFront, upFrontAsks, type HeldValue, type UpFrontAsk } from "../../rotation-day/held-values.js";
import { planDay, type DayPlan } from "../../rotation-day/plan-day.js";
import { runDay, type DriveOutcome } from "../../rotation-day/run-day.js";
import type { Runbook } from "../../runbook/runbook-schema.js";
import { escapeHtml } from "../../telegram/html.js";
import { sendOrEdit } from "../../telegram/send-or-edit.js";
import { telegramActor } from "../../telegram/telegram-actor.js";
import { todayUtc } from "../../time/calendar-date.js";
import { BUTTON_PATTERNS, encodeButton, type DayAction } from "../protocol/button-codec.js";
import type { DayIntake } from "./rotation-day-intake.js";

export interface RotationDayDeps {
  engine: RotationEngine;
  runbook: Runbook;
  manifestFile: string;
  stateDir: string;
  opsChatId: number;
  api: Api;
  now: () => Date;
  logger: Logger;
  /** Secrets a day is rotating now: the presenter keeps their progress out of the chat (the day's message says it). */
  dayKeys: Set<string>;
  /** Asks for the day's credentials made by hand up front, and answers their rotations with them. */
  intake: DayIntake;
}

const PLAN_MINUTES = 15;

/**
 * `/rotate due`: a rotation day in the ops chat. One plan card of every secret overdue or never
 * rotated (Start, Cancel); on Start the rotations run one after another (runDay), each an
 * ordinary rotation whose cards (decisions) the presenter posts as usual, with one progress
 * message for the whole day instead of one each, and one summary at the end. A failure's Abort
 * rolls that rotation back and the day goes on (Skip); "Stop the day" starts no more after the
 * current one. An unfinished day (a restart) is offered again by `/rotate due`.
 */
export function createRotationDayFeature(deps: RotationDayDeps): Composer<ConversationFlavor<Context>> {
  const { engine, runbook, manifestFile, opsChatId, api, now, logger, dayKeys, intake } = deps;
  const journal = createDayJournal(deps.stateDir);
  const composer = new Composer<ConversationFlavor<Context>>();
  const plans = new Map<string, { ownerId: number; owner: string; expiresAt: number; html: string }>();
  const running = new Map<string, { stop: boolean; ownerId: number }>();

  composer.command("rotate", async (ctx, next) => {
    if (ctx.match.trim().toLowerCase() !== "due") return next();
    if (ctx.chat.id !== opsChatId) {
      await ctx.reply("Start a rotation day in the ops chat, so the team sees it.");
      return;
    }
    const user = telegramActor(ctx.from!);
    const unfinished = await journal.unfinished();
    let html: string;
    if (unfinished) {
      if (running.size > 0) {
        await ctx.reply("A rotation day is running: its progress message shows where it stands.");
        return;
      }
      html = `🗓 <b>Rotation day ${unfinished.id}</b> (started by ${escapeHtml(unfinished.initiator.name)}) did not finish:\n${describeDayEntries(unfinished).map(escapeHtml).join("\n")}\n\nStart resumes it where it stopped.`;
    } else {
      const asOf = todayUtc(now());
      const manifest = await readManifest(manifestFile, { categories: new Set(Object.keys(runbook.policies)), asOf });
      if (!manifest.ok) {
        await ctx.reply(
          `The manifest cannot be read: ${manifest.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("; ")}. Fix it (rotabot age shows every problem) and send /rotate due again.`,
        );
        return;
      }
      const plan = planDay(runbook, manifest.entries, asOf);
      if (plan.items.length === 0) {
        await ctx.reply("Nothing is overdue or never rotated: no rotation day needed. /age shows what is due soon.");
        return;
      }
      for (const item of plan.items) engine.prepare({ procedure: item.procedure, key: item.key });
      html = planHtml(plan);
    }
    const nonce = randomBytes(4).toString("hex");
    plans.set(nonce, {
      ownerId: ctx.from!.id,
      owner: user.name,
      expiresAt: now().getTime() + PLAN_MINUTES * 60_000,
      html,
    });
    await ctx.reply(
      `${html}\n\nOnly ${escapeHtml(user.name)} can start it; this plan expires in ${PLAN_MINUTES} minutes.`,
      {
        parse_mode: "HTML",
        reply_markup: new InlineKeyboard()
          .text("▶️ Start", encodeButton({ kind: "day", nonce, action: "start" }))
          .text("✖️ Cancel", encodeButton({ kind: "day", nonce, action: "cancel" })),
      },
    );
  });

  composer.callbackQuery(BUTTON_PATTERNS.day, async (ctx) => {
    const [, nonce, action] = ctx.match as RegExpMatchArray as [string, string, DayAction];
    if (action === "later") {
      const taken = intake.later(nonce, ctx.from.id, ctx.callbackQuery.message?.message_id);
      return ctx.answerCallbackQuery(taken ? {} : { text: "This question is closed.", show_alert: true });
    }
    if (action === "stop") {
      const day = running.get(nonce);
      if (!day) return ctx.answerCallbackQuery({ text: "This day is over.", show_alert: true });
      if (day.ownerId !== ctx.from.id)
        return ctx.answerCallbackQuery({ text: "Only who started the day can stop it.", show_alert: true });
      day.stop = true;
      return ctx.answerCallbackQuery({
        text: "The day stops after the rotation running now: no other one starts.",
        show_alert: true,
      });
    }
    const plan = plans.get(nonce);
    if (!plan || plan.expiresAt < now().getTime())
      return ctx.answerCallbackQuery({ text: "This plan expired: send /rotate due again.", show_alert: true });
    if (plan.ownerId !== ctx.from.id)
      return ctx.answerCallbackQuery({ text: `Only ${plan.owner} can start it.`, show_alert: true });
    // One day at a time: a second plan card's Start would run the same journaled day beside it.
    if (running.size > 0)
      return ctx.answerCallbackQuery({
        text: "A rotation day is running: its progress message shows where it stands.",
        show_alert: true,
      });
    plans.delete(nonce);
    await ctx.answerCallbackQuery();
    const settle = (outcome: string) =>
      ctx.editMessageText(`${plan.html}\n\n${outcome}`, { parse_mode: "HTML" }).catch(() => undefined);
    if (action === "cancel") {
      await settle(`✖️ Cancelled by ${escapeHtml(plan.owner)}; nothing was done.`);
      return;
    }
    const actor = telegramActor(ctx.from);
    const unfinished = await journal.unfinished();
    const fresh = unfinished ? undefined : await newDay(actor);
    const day = unfinished ?? fresh?.day;
    if (!day) {
      await settle("Nothing is overdue or never rotated any more: no rotation day needed.");
      return;
    }
    // Values given up front before a restart are gone from memory: named to revoke, then asked at their turn.
    const lost = takeLostUpFront(day);
    await journal.save(day);
    await settle(
      [`▶️ Started as rotation day <code>${day.id}</code>: progress follows below.`, ...lost.map(escapeHtml)].join(
        "\n",
      ),
    );
    running.set(nonce, { stop: false, ownerId: ctx.from.id });
    const userId = ctx.from.id;
    void (async () => {
      // A resumed day asks nothing up front: held values did not survive the restart, each is asked at its turn.
      await askUpFront(day, nonce, userId, actor, fresh ? upFrontAsks(fresh.items) : []);
      await runInChat(day, nonce, actor);
    })().catch((error: unknown) => {
      logger.error({ err: error, day: day.id }, "the rotation day stopped on an error");
      // Stopped, not running: /rotate due offers to resume it instead of saying it runs.
      running.delete(nonce);
      const unused = intake.release(actor.name);
      void api
        .sendMessage(
          opsChatId,
          [
            `🗓 Rotation day ${day.id} stopped on an error: ${error instanceof Error ? error.message : String(error)}. /status shows each rotation; /rotate due resumes the day.`,
            ...unused,
          ].join("\n"),
        )
        .catch(() => undefined);
    });
  });

  /**
   * Before the first rotation: the credentials made by hand that the procedures allow are asked in
   * the initiator's private chat (DayIntake), so the unattended parts run back to back; the ops
   * chat sees one line that says what is awaited, then what was given (endings only).
   */
  async function askUpFront(day: Day, nonce: string, userId: number, actor: Actor, asks: UpFrontAsk[]): Promise<void> {
    if (asks.length === 0) return;
    const who = escapeHtml(actor.name);
    const keys = asks.map((a) => `<code>${escapeHtml(a.item.key)}</code>`).join(", ");
    const n = asks.length;
    const credential = "credential made by hand";
    const credentials = n === 1 ? credential : "credentials made by hand";
    const line = await api.sendMessage(
      opsChatId,
      `🔑 Before the first rotation: waiting for ${who} to send ${n} ${credentials} (${keys}) in a private chat with me. Each is held in memory until its rotation's turn, so the rest runs back to back.`,
      { parse_mode: "HTML" },
    );
    const { kept, unreachable } = await intake.collect({ id: day.id, nonce, userId }, asks, heldListener(day));
    const outcome = unreachable
      ? `🔑 ${who}, I cannot write to you privately yet, so each ${credential} is asked at its rotation's turn: open a chat with me and press Start before then.`
      : `🔑 ${who} gave ${kept.length} of ${n} ${credentials} up front${kept.length > 0 ? ` (${kept.map((h) => `<code>${escapeHtml(h.key)}</code> …${escapeHtml(h.ending)}`).join(", ")})` : ""}${kept.length < n ? "; the rest is asked at its turn" : ""}. The rotations start.`;
    await api.editMessageText(opsChatId, line.message_id, outcome, { parse_mode: "HTML" }).catch(() => undefined);
  }

  /** The day's journal keeps each value's ending as it is kept, and that it was given: a restart still names the lost ones. */
  function heldListener(day: Day) {
    const entryOf = (key: string) =>
      day.entries.find((e) => e.key === key && e.outcome === "pending") ?? day.entries.find((e) => e.key === key);
    return {
      kept: async (h: Readonly<HeldValue>) => {
        const entry = entryOf(h.key);
        if (!entry) return;
        entry.heldUpFront = { ending: h.ending, ...(h.revokeIfUnused ? { revokeIfUnused: h.revokeIfUnused } : {}) };
        await journal.save(day);
      },
      given: async (key: string) => {
        const entry = entryOf(key);
        if (!entry?.heldUpFront) return;
        entry.heldUpFront.given = true;
        await journal.save(day);
      },
    };
  }

  async function newDay(actor: Actor): Promise<{ day: Day; items: DayPlan["items"] } | undefined> {
    const asOf = todayUtc(now());
    const manifest = await readManifest(manifestFile, { categories: new Set(Object.keys(runbook.policies)), asOf });
    const plan = manifest.ok ? planDay(runbook, manifest.entries, asOf) : undefined;
    if (!plan || plan.items.length === 0) return undefined;
    const day: Day = {
      version: 1,
      id: newDayId(now()),
      initiator: actor,
      createdAt: now().toISOString(),
      state: "running",
      entries: plan.items.map((item) => ({ key: item.key, procedureId: item.procedure.id, outcome: "pending" })),
    };
    return { day, items: plan.items };
  }

  async function runInChat(day: Day, nonce: string, actor: Actor): Promise<void> {
    let progressId: number | undefined;
    let shown = "";
    let showing: Promise<unknown> = Promise.resolve();
    const show = (current: Readonly<Day>) => {
      const done = current.state === "ended";
      const html = `🗓 <b>Rotation day <code>${current.id}</code></b> by ${escapeHtml(current.initiator.name)}\n\n${describeDayEntries(current).map(escapeHtml).join("\n")}`;
      if (html === shown) return;
      shown = html;
      const markup = done
        ? {}
        : {
            reply_markup: new InlineKeyboard().text(
              "⏹ Stop the day after this one",
              encodeButton({ kind: "day", nonce, action: "stop" }),
            ),
          };
      showing = showing
        .then(async () => {
          progressId = await sendOrEdit(
            {
              edit: (id) => api.editMessageText(opsChatId, id, html, { parse_mode: "HTML", ...markup }),
              send: () => api.sendMessage(opsChatId, html, { parse_mode: "HTML", ...markup }),
            },
            progressId,
          );
        })
        .catch((error: unknown) => logger.warn({ err: error, day: current.id }, "could not update the day's progress"));
    };
    show(day);
    const ended = await runDay(
      {
        engine,
        journal,
        runbook,
        now,
        request: () => ({ initiator: actor }),
        onChange: show,
        drive: async (entry, begin): Promise<DriveOutcome> => {
          // Quiet from the start event on: the presenter hears it before begin returns.
          dayKeys.add(entry.key);
          const stopAnswering = intake.answerFor(entry.key, actor, heldListener(day));
          try {
            const begun = await begin();
            // A rotation the day adopted after a restart may be going on already (its card was
            // answered before the day asked to resume it: "busy"); the day waits for its end too.
            const id = begun.ok ? begun.rotation.id : entry.outcome === "running" ? entry.rotationId : undefined;
            if (id === undefined) return { stopped: false };
            const rotation = await untilEnded(id);
            const stop = running.get(nonce)?.stop === true;
            return { stopped: false, skip: rotation?.state === "aborted", abortDay: stop };
          } finally {
            stopAnswering();
            dayKeys.delete(entry.key);
          }
        },
      },
      day,
    );
    running.delete(nonce);
    await showing;
    // A value given up front that no rotation took is a live credential outside: the team is told what to revoke.
    const unused = intake.release(actor.name);
    if (ended.state === "ended")
      await api.sendMessage(
        opsChatId,
        [describeDayEnd(ended), ...describeDayEntries(ended), ...unused].map(escapeHtml).join("\n"),
        { parse_mode: "HTML" },
      );
    else if (unused.length > 0) await api.sendMessage(opsChatId, unused.join("\n"));
  }

  /** Resolves when the rotation has ended (completed or aborted), however long its cards wait. */
  function untilEnded(id: string) {
    return new Promise<Awaited<ReturnType<RotationEngine["get"]>>>((resolve) => {
      const off = engine.on((event) => {
        if (event.rotation.id === id && isTerminal(event.rotation)) {
          off();
          resolve(event.rotation);
        }
      });
      void engine.get(id).then((r) => {
        if (r && isTerminal(r)) {
          off();
          resolve(r);
        }
      });
    });
  }

  return composer;
}

function planHtml(plan: DayPlan): string {
  return `🗓 <b>Rotation day</b>: ${plan.items.length} secret${plan.items.length === 1 ? "" : "s"} overdue or never rotated, one after another in the runbook's order; each asks here when it needs a decision. Credentials made by hand are asked first, in our private chat, where the procedure allows (the rest at their turn), so the unattended parts run back to back.\n\n${describeDayPlan(
    plan,
  )
    .map(escapeHtml)
    .join("\n")}`;
}
