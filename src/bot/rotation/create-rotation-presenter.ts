import { readFile } from "node:fs/promises";
import { GrammyError, InlineKeyboard, InputFile, type Api } from "grammy";
import type { Logger } from "../../logging/create-logger.js";
import type { EngineEvent, RotationEngine } from "../../rotation/create-rotation-engine.js";
import type { Awaiting, ResponseType, Rotation } from "../../rotation/model.js";
import { describeOutage, unusedCredentials } from "../../rotation/queries.js";
import { RESPONSES } from "../../rotation/responses.js";
import { PROMPTS } from "../../rotation/prompts.js";
import { escapeHtml } from "../../telegram/html.js";
import { encodeButton, REVOKED_NONCE, type ButtonAction } from "./callback-data.js";
import { renderProgress } from "./render-progress.js";

/** Button labels: the shared response vocabulary, plus `ask_again` (re-send the private token request). */
const LABELS: Record<ButtonAction, string> = {
  ...Object.fromEntries(Object.entries(RESPONSES).map(([type, words]) => [type, words.button])),
  ask_again: "📨 Ask me again",
  revoked: "✅ Revoked",
} as Record<ButtonAction, string>;
const EDIT_INTERVAL_MS = 5_000;
const UNDOABLE = "This cannot be undone";
const TAIL_LINES = 8;

export interface PresenterDeps {
  api: Api;
  engine: RotationEngine;
  opsChatId: number;
  /** The newest message id rotabot knows of in the ops chat (see trackLatestMessage). */
  latestOpsMessageId: () => number;
  botUsername: () => string;
  logger: Logger;
}

interface Live {
  progressMessageId?: number;
  /** The rotation ended: the next edit is the last, then the state goes. */
  final?: boolean;
  shownText?: string;
  lastEdit: number;
  timer?: NodeJS.Timeout;
  tail: string[];
  chain: Promise<unknown>;
}

/** The buttons of a prompt: what it accepts, except a pasted value (that is a private message). */
const buttonsOf = (awaiting: Awaiting): ButtonAction[] =>
  awaiting.accepts.filter((a): a is Exclude<ResponseType, "collect"> => a !== "collect");

/** A token request waiting for its initiator's private message. */
export interface OpenRequest {
  rotationId: string;
  userId: number;
  nonce: string;
  key: string;
  /** The request in the private chat, once sent (a value may be sent as a reply to it). */
  messageId?: number;
}

/** The Telegram user id of a chat-started rotation's initiator, undefined for shell rotations. */
export const telegramUserOf = (rotation: Readonly<Rotation>) =>
  rotation.initiator.id.startsWith("tg:") ? Number(rotation.initiator.id.slice(3)) : undefined;

/**
 * Shows rotations in the ops chat: one live progress message each (edited at most every five
 * seconds), every prompt as a message with buttons bound to its nonce, token requests in the
 * initiator's private chat, failure logs as documents, and expiry of unanswered confirmations.
 */
export function createRotationPresenter({
  api,
  engine,
  opsChatId,
  latestOpsMessageId,
  botUsername,
  logger,
}: PresenterDeps) {
  const live = new Map<string, Live>();
  /** Nonce -> the message that asks it, and the rotation it belongs to. */
  const prompts = new Map<string, { rotationId: string; chatId: number; messageId: number; text: string }>();
  /** Rotation id -> the ops chat's "Waiting for @alice to send the new value" line, edited when the value is checked. */
  const waitingLines = new Map<string, number>();
  /** Rotation id -> its open token request (one operator may have several, one per rotation). */
  const collecting = new Map<string, OpenRequest>();

  const stateOf = (id: string): Live => {
    let state = live.get(id);
    if (!state) {
      state = { lastEdit: 0, tail: [], chain: Promise.resolve() };
      live.set(id, state);
    }
    return state;
  };
  /** Runs Telegram calls of one rotation in order; a failure is logged, never thrown. */
  const serial = (id: string, task: () => Promise<unknown>) => {
    const state = stateOf(id);
    state.chain = state.chain.then(task).catch((error: unknown) => {
      if (error instanceof GrammyError && error.description.includes("message is not modified")) return;
      logger.warn({ err: error, rotationId: id }, "could not update the chat about a rotation");
    });
    return state.chain;
  };

  /**
   * Schedules an edit of the progress message, never sooner than five seconds after the last
   * one (Telegram allows about 20 edits a minute in a group). `final` drops the state after it.
   */
  function refreshProgress(rotation: Readonly<Rotation>, final = false): void {
    const state = stateOf(rotation.id);
    state.final ||= final;
    // One edit at a time is scheduled; it renders the latest state when it runs.
    if (state.timer !== undefined) return;
    const wait = () =>
      state.progressMessageId === undefined ? 0 : Math.max(0, state.lastEdit + EDIT_INTERVAL_MS - Date.now());
    state.timer = setTimeout(() => {
      void serial(rotation.id, async () => {
        state.timer = undefined;
        // The chain may have been busy: never edit sooner than the interval after the last edit.
        if (wait() > 0) return refreshProgress(rotation, state.final);
        const latest = (await engine.get(rotation.id)) ?? rotation;
        const text = renderProgress(latest, state.tail);
        if (text !== state.shownText) {
          state.shownText = text;
          state.lastEdit = Date.now();
          if (state.progressMessageId === undefined) {
            state.progressMessageId = (await api.sendMessage(opsChatId, text, { parse_mode: "HTML" })).message_id;
          } else {
            await api.editMessageText(opsChatId, state.progressMessageId, text, { parse_mode: "HTML" });
          }
        }
        if (state.final) live.delete(rotation.id);
      });
    }, wait());
  }

  /**
   * Puts the live progress message right above the card about to be posted: unless it is still the
   * newest message in the chat, a fresh one is sent and the old one deleted, so the checklist never
   * scrolls away above the cards.
   */
  async function moveProgressDown(rotation: Readonly<Rotation>): Promise<void> {
    const state = stateOf(rotation.id);
    // Still the newest message in the chat: the card will stand right below it as it is.
    if (state.progressMessageId !== undefined && state.progressMessageId >= latestOpsMessageId()) return;
    const text = renderProgress((await engine.get(rotation.id)) ?? rotation, state.tail);
    const old = state.progressMessageId;
    state.progressMessageId = (await api.sendMessage(opsChatId, text, { parse_mode: "HTML" })).message_id;
    state.shownText = text;
    state.lastEdit = Date.now();
    if (old !== undefined) await api.deleteMessage(opsChatId, old).catch(() => undefined);
  }

  /** Edits the ops chat's waiting line of a rotation, if one is shown; `done` forgets it after. */
  function editWaitingLine(rotationId: string, html: string, done: boolean): void {
    const messageId = waitingLines.get(rotationId);
    if (messageId === undefined) return;
    if (done) waitingLines.delete(rotationId);
    void serial(rotationId, () => api.editMessageText(opsChatId, messageId, html, { parse_mode: "HTML" }));
  }

  function keyboardFor(rotation: Rotation, awaiting: Awaiting, actions: readonly ButtonAction[]): InlineKeyboard {
    const keyboard = new InlineKeyboard();
    actions.forEach((action, i) => {
      const label = (action !== "ask_again" && action !== "revoked" && awaiting.labels?.[action]) || LABELS[action];
      keyboard.text(label, encodeButton({ rotationId: rotation.id, nonce: awaiting.nonce, action }));
      if (i % 2 === 1) keyboard.row();
    });
    return keyboard;
  }

  async function postPrompt(rotation: Rotation, awaiting: Awaiting): Promise<void> {
    // Asked again (Ask me again, a restart): the earlier message of this prompt loses its buttons.
    if (prompts.has(awaiting.nonce)) void settlePrompt(rotation.id, awaiting.nonce, "Asked again in a newer message.");
    const userId = telegramUserOf(rotation);
    if (awaiting.kind === "collect" && userId !== undefined) {
      const request: OpenRequest = { rotationId: rotation.id, userId, nonce: awaiting.nonce, key: rotation.key };
      collecting.set(rotation.id, request);
      const privateText = `🔑 <b>${escapeHtml(rotation.key)}</b> (rotation <code>${rotation.id}</code>)\n\n${escapeHtml(awaiting.prompt)}\n\nSend it here as a plain message. I store it in the vault as <code>${escapeHtml(rotation.key)}_new</code>, delete your message and show only its last 4 characters.`;
      try {
        const sent = await api.sendMessage(userId, privateText, {
          parse_mode: "HTML",
          reply_markup: keyboardFor(rotation, awaiting, buttonsOf(awaiting)),
        });
        request.messageId = sent.message_id;
        prompts.set(awaiting.nonce, {
          rotationId: rotation.id,
          chatId: userId,
          messageId: sent.message_id,
          text: privateText,
        });
        // Asked again after a refused value: the line there already says so.
        if (!waitingLines.has(rotation.id)) {
          await moveProgressDown(rotation);
          const line = await api.sendMessage(
            opsChatId,
            `🔑 Waiting for ${escapeHtml(rotation.initiator.name)} to send the new value of <code>${escapeHtml(rotation.key)}</code> in a private chat with me.`,
            { parse_mode: "HTML" },
          );
          waitingLines.set(rotation.id, line.message_id);
        }
      } catch (error) {
        if (!(error instanceof GrammyError && error.error_code === 403)) throw error;
        await moveProgressDown(rotation);
        const text = `🔑 ${escapeHtml(rotation.initiator.name)}, I need the new value of <code>${escapeHtml(rotation.key)}</code> in a private chat, but I cannot write to you yet. Open @${escapeHtml(botUsername())}, press Start (or send /start), then press the button below.`;
        const sent = await api.sendMessage(opsChatId, text, {
          parse_mode: "HTML",
          reply_markup: keyboardFor(rotation, awaiting, [
            "ask_again",
            ...buttonsOf(awaiting).filter((a) => a === "cancel"),
          ]),
        });
        prompts.set(awaiting.nonce, { rotationId: rotation.id, chatId: opsChatId, messageId: sent.message_id, text });
      }
      return;
    }
    // The prompt says once that it cannot be undone; the card marks it and makes it bold.
    const undoable = !awaiting.prompt.includes(UNDOABLE);
    const prompt = escapeHtml(awaiting.prompt).replace(UNDOABLE, `<b>${UNDOABLE}</b>`);
    const who = rotation.initiator.name;
    await moveProgressDown(rotation);
    const text = `${undoable ? "" : "⚠️ "}${prompt}\n\n<i>Rotation <code>${rotation.id}</code> of <code>${escapeHtml(rotation.key)}</code>; only ${escapeHtml(who)} can answer.</i>`;
    const sent = await api.sendMessage(opsChatId, text, {
      parse_mode: "HTML",
      reply_markup: keyboardFor(rotation, awaiting, buttonsOf(awaiting)),
    });
    prompts.set(awaiting.nonce, { rotationId: rotation.id, chatId: opsChatId, messageId: sent.message_id, text });
  }

  /** The engine refuses answers from now on; the card says so and loses its buttons. */
  function expire(rotation: Readonly<Rotation>): Promise<unknown> {
    const awaiting = rotation.awaiting;
    if (!awaiting?.expiresAt) return Promise.resolve();
    const minutes = Math.round((Date.parse(awaiting.expiresAt) - Date.parse(awaiting.since)) / 60_000);
    return settlePrompt(
      rotation.id,
      awaiting.nonce,
      `⌛ This confirmation expired after ${minutes} minute${minutes === 1 ? "" : "s"}; nothing was done. Send /resume ${rotation.id} to be asked again, or /cancel ${rotation.id}.`,
    );
  }

  /** Removes a prompt's buttons and appends what happened to it. */
  function settlePrompt(rotationId: string, nonce: string, outcome: string): Promise<unknown> {
    const prompt = prompts.get(nonce);
    if (!prompt) return Promise.resolve();
    prompts.delete(nonce);
    return serial(rotationId, () =>
      api.editMessageText(prompt.chatId, prompt.messageId, `${prompt.text}\n\n${escapeHtml(outcome)}`, {
        parse_mode: "HTML",
      }),
    );
  }

  /** The rotation no longer waits for a private value: answered, aborted, completed or interrupted. */
  function closeRequestOf(rotationId: string): void {
    collecting.delete(rotationId);
  }

  /** Settles every open prompt of one rotation (never another rotation's). */
  function settlePromptsOf(rotationId: string, outcome: string): void {
    for (const [nonce, prompt] of [...prompts])
      if (prompt.rotationId === rotationId) void settlePrompt(rotationId, nonce, outcome);
  }

  async function sendFailureLog(rotation: Rotation, stepTitle: string, logFile: string | undefined): Promise<void> {
    if (!logFile) return;
    const content = await readFile(logFile).catch(() => undefined);
    if (!content || content.length === 0) return;
    await api.sendDocument(
      opsChatId,
      new InputFile(content, `${rotation.id}-${stepTitle.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}.log`),
      {
        caption: `Full output of “${stepTitle}” (redacted)`,
      },
    );
  }

  /** The "✅ Revoked" button under a message that lists credentials left unused, if there are any. */
  const revokedButton = (rotation: Readonly<Rotation>) =>
    unusedCredentials(rotation).length === 0
      ? {}
      : {
          reply_markup: new InlineKeyboard().text(
            LABELS.revoked,
            encodeButton({ rotationId: rotation.id, nonce: REVOKED_NONCE, action: "revoked" }),
          ),
        };
  const revokeCardKey = (rotationId: string) => `revoked:${rotationId}`;
  const rememberRevokeCard = (rotationId: string, messageId: number, text: string) =>
    prompts.set(revokeCardKey(rotationId), { rotationId, chatId: opsChatId, messageId, text });

  /** An abort was journaled: said at once in the chat; the progress message shows the rollback step by step. */
  function onAborting(event: Extract<EngineEvent, { type: "aborting" }>): void {
    const { rotation, actor } = event;
    closeRequestOf(rotation.id);
    const steps = (rotation.rollback?.steps ?? []).filter((s) => s.state !== "done" && s.state !== "skipped").length;
    const what = `${steps} step${steps === 1 ? "" : "s"}`;
    settlePromptsOf(rotation.id, event.retry ? `🔁 Rollback retried by ${actor.name}` : `⏹ Aborting (${actor.name})`);
    editWaitingLine(
      rotation.id,
      `🔑 No longer waiting for the new value of <code>${escapeHtml(rotation.key)}</code>: the rotation is being aborted.`,
      true,
    );
    const text = event.retry
      ? `🔁 Retrying the rollback of rotation <code>${rotation.id}</code> of <code>${escapeHtml(rotation.key)}</code> (${escapeHtml(actor.name)}): ${what} to run; the progress message shows each one.`
      : `⏹ Aborting rotation <code>${rotation.id}</code> of <code>${escapeHtml(rotation.key)}</code> (${escapeHtml(actor.name)}): rolling back ${what}; the progress message shows each one.`;
    void serial(rotation.id, () => api.sendMessage(opsChatId, text, { parse_mode: "HTML" }));
    refreshProgress(rotation);
  }

  function onEvent(event: EngineEvent): void {
    const rotation = event.rotation;
    if (telegramUserOf(rotation) === undefined) return;
    const state = stateOf(rotation.id);
    switch (event.type) {
      case "started":
      case "step_started":
      case "step_finished":
      case "interrupted":
        if (event.type === "step_started") state.tail = [];
        if (event.type === "interrupted") closeRequestOf(rotation.id);
        refreshProgress(rotation);
        break;
      case "output":
        state.tail.push(event.line);
        if (state.tail.length > TAIL_LINES) state.tail.shift();
        refreshProgress(rotation);
        break;
      case "step_failed":
        refreshProgress(rotation);
        void serial(rotation.id, () => sendFailureLog(rotation, event.step.title, event.step.logFile));
        break;
      case "awaiting":
        refreshProgress(rotation);
        void serial(rotation.id, () => postPrompt(rotation, event.awaiting));
        break;
      case "answered": {
        closeRequestOf(rotation.id);
        const settled = `${RESPONSES[event.response].settled} by ${event.actor.name}`;
        settlePromptsOf(rotation.id, settled);
        if (event.response !== "collect" && event.response !== "added_myself")
          editWaitingLine(
            rotation.id,
            `🔑 No longer waiting for the new value of <code>${escapeHtml(rotation.key)}</code>: ${escapeHtml(settled)}.`,
            true,
          );
        break;
      }
      case "value_checked": {
        const who = escapeHtml(event.actor.name);
        const key = `<code>${escapeHtml(rotation.key)}</code>`;
        const ending = rotation.endings?.new;
        const how = event.response === "collect" ? "sent" : "added to the vault by hand";
        if (event.refused === undefined)
          editWaitingLine(
            rotation.id,
            `🔑 ${who} ${how} the new value of ${key}: received and accepted, stored in the vault as <code>${escapeHtml(rotation.key)}_new</code>${ending ? ` (ends in …${escapeHtml(ending)})` : ""}.`,
            true,
          );
        else
          editWaitingLine(
            rotation.id,
            `🔑 The value ${who} ${how} for ${key} was rejected: ${escapeHtml(event.refused)}. Nothing was stored; waiting for another value in the private chat.`,
            false,
          );
        break;
      }
      case "completed": {
        closeRequestOf(rotation.id);
        refreshProgress(rotation, true);
        const minutes = (
          (Date.parse(rotation.endedAt ?? rotation.updatedAt) - Date.parse(rotation.createdAt)) /
          60_000
        ).toFixed(1);
        void serial(rotation.id, async () => {
          const text = `🏁 <b>Rotation complete</b>: <code>${escapeHtml(rotation.key)}</code> in ${minutes} min. Vault, manifest and CHANGELOG updated${rotation.commit ? `, commit <code>${escapeHtml(rotation.commit)}</code>` : ""}.${rotation.owner ? ` Owner ${escapeHtml(rotation.owner)} notified.` : ""}${rotation.outage ? ` ⏱ ${escapeHtml(describeOutage(rotation)!)}.` : ""}${escapeHtml(PROMPTS.leftOutside(rotation))}`;
          const sent = await api.sendMessage(opsChatId, text, { parse_mode: "HTML", ...revokedButton(rotation) });
          if (unusedCredentials(rotation).length > 0) rememberRevokeCard(rotation.id, sent.message_id, text);
        });
        break;
      }
      case "aborting":
        onAborting(event);
        break;
      case "rollback_step":
        refreshProgress(rotation);
        if (event.step.state === "failed")
          void serial(rotation.id, () => sendFailureLog(rotation, event.step.title, event.step.logFile));
        break;
      case "rollback_failed":
        // The card that follows ("awaiting") says what failed and what to do.
        refreshProgress(rotation);
        break;
      case "aborted":
        closeRequestOf(rotation.id);
        refreshProgress(rotation, true);
        settlePromptsOf(rotation.id, "rotation aborted");
        void serial(rotation.id, async () => {
          const text = `⏹ ${escapeHtml(rotation.message ?? "aborted")}`;
          const sent = await api.sendMessage(opsChatId, text, revokedButton(rotation));
          if (unusedCredentials(rotation).length > 0) rememberRevokeCard(rotation.id, sent.message_id, text);
        });
        break;
      case "revoked":
        void settlePrompt(rotation.id, revokeCardKey(rotation.id), `✅ Revoked, says ${event.actor.name}.`);
        break;
      case "prompt_expired":
        void expire(rotation);
        break;
      case "owner_notified":
        break;
    }
  }

  const off = engine.on(onEvent);
  return {
    /** The token requests waiting for this user's private message, one per rotation. */
    openRequests: (userId: number) => [...collecting.values()].filter((request) => request.userId === userId),
    /**
     * Holds the rotation's chat updates until `release` is called, so that a reply sent meanwhile
     * ("Resuming rotation …") stands above the cards the engine produces. Always call release.
     */
    hold(rotationId: string): () => void {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      void serial(rotationId, () => held);
      return release;
    },
    /** Posts the current prompt of a rotation again (after /start in private, or on resume). */
    async repost(rotationId: string): Promise<void> {
      const rotation = await engine.get(rotationId);
      if (rotation?.awaiting) await serial(rotation.id, () => postPrompt(rotation, rotation.awaiting!));
    },
    stop(): void {
      off();
      for (const state of live.values()) clearTimeout(state.timer);
    },
  };
}
export type RotationPresenter = ReturnType<typeof createRotationPresenter>;
