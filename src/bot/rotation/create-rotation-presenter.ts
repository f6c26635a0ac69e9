import { describeExposure } from "../../changelog/describe-exposure.js";
import { GrammyError, InlineKeyboard, InputFile, type Api } from "grammy";
import { readFailureCause } from "../../exec/find-failure-cause.js";
import { readFileTail } from "../../fs/read-file-tail.js";
import type { Logger } from "../../logging/create-logger.js";
import type { EngineEvent, RotationEngine } from "../../rotation/create-rotation-engine.js";
import { newKeyOf } from "../../model/new-key.js";
import type { Awaiting, ResponseType, Rotation } from "../../model/rotation.js";
import { describeOutage, isTerminal, unusedCredentials } from "../../rotation/queries.js";
import { RESPONSES } from "../../rotation/responses.js";
import { PROMPTS } from "../../rotation/prompts.js";
import { escapeHtml, mentionHtml } from "../../telegram/html.js";
import { needsSecondPerson } from "../../rotation/answer-rules.js";
import type { TransitionContext } from "../../rotation/transition-io.js";
import { describeTelegramError, isMessageGone, sendOrEdit } from "../../telegram/send-or-edit.js";
import { encodeButton, REVOKED_NONCE, type ButtonAction } from "../protocol/button-codec.js";
import { renderProgress } from "./render-progress.js";

/** The signal grammY's methods take (typed by its abort-controller polyfill; a Node AbortSignal works). */
type ApiSignal = Parameters<Api["sendMessage"]>[3];

/** Button labels: the shared response vocabulary, plus `ask_again` (re-send the private token request). */
const LABELS: Record<ButtonAction, string> = {
  ...Object.fromEntries(Object.entries(RESPONSES).map(([type, words]) => [type, words.button])),
  ask_again: "📨 Ask me again",
  revoked: "✅ Revoked",
} as Record<ButtonAction, string>;
const EDIT_INTERVAL_MS = 5_000;
const UNDOABLE = "This cannot be undone";
const TAIL_LINES = 8;
/** A step's log goes out as a document of at most this size, its end (Telegram takes up to 50 MB from a bot). */
export const MAX_LOG_DOCUMENT_BYTES = 5 * 1024 * 1024;

export interface PresenterDeps {
  api: Api;
  engine: RotationEngine;
  opsChatId: number;
  /** The newest message id rotabot knows of in the ops chat (see trackLatestMessage). */
  latestOpsMessageId: () => number;
  botUsername: () => string;
  logger: Logger;
  /**
   * Runs a card's writes with the card's priority in the chat's send budget, so the progress
   * message moved above it goes with it (SendBudget.urgent); by default they just run.
   */
  urgent?: <T>(task: () => Promise<T>) => Promise<T>;
  /** Masks secret values learned since a log was written, in the lines a card quotes from it. */
  redact?: (text: string) => string;
  /** Largest log document; the end of a longer log is sent, with a note that it was cut. */
  maxLogBytes?: number;
  /**
   * A rotation of a rotation day: its progress, abort notice and closing message stay out of the
   * chat (the day's one progress message and summary say them); its cards (decisions) still go.
   */
  quiet?: (rotation: Readonly<Rotation>) => boolean;
  /**
   * A value request the front end answers itself (a rotation day's credential given up front,
   * held in memory): no private request or waiting line is posted for it.
   */
  answeredElsewhere?: (awaiting: Readonly<Awaiting>) => boolean;
  /** The two-person rule as the engine applies it: a card says which of its answers need a second person. */
  approval?: TransitionContext["approval"];
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
  /** Aborted when the rotation ends: cards still waiting for the chat's send budget are dropped. */
  cards: AbortController;
}

/**
 * The line of a two-person prompt that asks the approver named at the start, by a mention that
 * notifies them; undefined for other prompts, or once the name lapsed (any approver then).
 */
function approverAsked(rotation: Readonly<Rotation>, awaiting: Awaiting): string | undefined {
  const approver = rotation.approver;
  if (!approver || approver.lapsed) return undefined;
  // The name is only ever set with the two-person rule on.
  const rule = { requireSecondApprover: true, approverIds: [] };
  if (!awaiting.accepts.some((response) => needsSecondPerson(rotation, response, rule))) return undefined;
  return `👥 ${mentionHtml(approver)}, your approval is asked${rotation.incident ? " for an <b>incident</b> rotation" : ""}: only you can approve this step.`;
}

/**
 * Who may press a card's buttons: the initiator, and with the two-person rule an approver other
 * than them for the answers that need a second person (those buttons named), the one asked by
 * name while the name holds.
 */
function whoAnswers(rotation: Readonly<Rotation>, awaiting: Awaiting, approval: TransitionContext["approval"]): string {
  const initiator = escapeHtml(rotation.initiator.name);
  const second = awaiting.accepts.filter(
    (response): response is Exclude<ResponseType, "collect"> =>
      response !== "collect" && needsSecondPerson(rotation, response, approval),
  );
  if (second.length === 0) return `only ${initiator} can answer`;
  const approver =
    rotation.approver && !rotation.approver.lapsed
      ? escapeHtml(rotation.approver.name)
      : `an approver other than ${initiator}`;
  const others = buttonsOf(awaiting).length > second.length ? `; the other buttons are ${initiator}'s` : "";
  const labels = second.map((response) => escapeHtml(awaiting.labels?.[response] ?? LABELS[response]));
  return `${labels.join(", ")}: only ${approver} (the two-person rule)${others}`;
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
  urgent = (task) => task(),
  redact = (text) => text,
  maxLogBytes = MAX_LOG_DOCUMENT_BYTES,
  quiet = () => false,
  answeredElsewhere = () => false,
  approval = { requireSecondApprover: false, approverIds: [] },
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
      state = { lastEdit: 0, tail: [], chain: Promise.resolve(), cards: new AbortController() };
      live.set(id, state);
    }
    return state;
  };
  /**
   * Runs Telegram calls of one rotation in order; a failure is logged, never thrown, so the next
   * card always goes (a reply without a `description` once broke the chain here).
   */
  const serial = (id: string, task: () => Promise<unknown>) => {
    const state = stateOf(id);
    state.chain = state.chain.then(task).catch((error: unknown) => {
      if (error instanceof GrammyError && (error.description ?? "").includes("message is not modified")) return;
      // A card dropped at the end (its wait for the chat's budget was cancelled): expected, not news.
      if (state.cards.signal.aborted && !(error instanceof GrammyError)) {
        logger.debug({ err: error, rotationId: id }, "a card of an ended rotation was not posted");
        return;
      }
      logger.warn(
        { err: error, rotationId: id, telegram: describeTelegramError(error) },
        "could not update the chat about a rotation",
      );
    });
    return state.chain;
  };
  /** Where a rotation's messages go in the ops chat: the forum topic it was started in, if any. */
  const topicOf = (rotation: Readonly<Rotation>) =>
    rotation.topic !== undefined ? { message_thread_id: rotation.topic } : {};
  /**
   * Sends to the ops chat, in the rotation's topic; if that topic is gone (deleted or closed by an
   * admin), in the chat's general topic rather than nowhere.
   */
  async function sendToOps(
    rotation: Readonly<Rotation>,
    text: string,
    other: Parameters<Api["sendMessage"]>[2] = {},
    signal?: ApiSignal,
  ) {
    try {
      return await api.sendMessage(opsChatId, text, { ...other, ...topicOf(rotation) }, signal);
    } catch (error) {
      if (rotation.topic === undefined || !describeTelegramError(error).includes("thread not found")) throw error;
      return api.sendMessage(opsChatId, text, other, signal);
    }
  }
  /** The card of a prompt is still the rotation's current question (not answered, aborted or replaced meanwhile). */
  async function stillAsked(rotation: Readonly<Rotation>, awaiting: Awaiting): Promise<boolean> {
    const current = await engine.get(rotation.id);
    return current !== undefined && !isTerminal(current) && current.awaiting?.nonce === awaiting.nonce;
  }

  /**
   * Schedules an edit of the progress message, never sooner than five seconds after the last
   * one (Telegram allows about 20 edits a minute in a group). `final` drops the state after it.
   */
  function refreshProgress(rotation: Readonly<Rotation>, final = false): void {
    if (quiet(rotation)) {
      if (final) live.delete(rotation.id);
      return;
    }
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
          // A progress message someone deleted is sent again rather than lost.
          state.progressMessageId = await sendOrEdit(
            {
              edit: (id) => api.editMessageText(opsChatId, id, text, { parse_mode: "HTML" }),
              send: () => sendToOps(latest, text, { parse_mode: "HTML" }),
            },
            state.progressMessageId,
          );
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
  async function moveProgressDown(rotation: Readonly<Rotation>, signal?: ApiSignal): Promise<void> {
    if (quiet(rotation)) return;
    const state = stateOf(rotation.id);
    // Still the newest message in the chat: the card will stand right below it as it is.
    if (state.progressMessageId !== undefined && state.progressMessageId >= latestOpsMessageId()) return;
    const text = renderProgress((await engine.get(rotation.id)) ?? rotation, state.tail);
    const old = state.progressMessageId;
    state.progressMessageId = (await sendToOps(rotation, text, { parse_mode: "HTML" }, signal)).message_id;
    state.shownText = text;
    state.lastEdit = Date.now();
    if (old !== undefined) await api.deleteMessage(opsChatId, old).catch(() => undefined);
  }

  /** Edits the ops chat's waiting line of a rotation, if one is shown (sent again if it was deleted); `done` forgets it after. */
  function editWaitingLine(rotation: Readonly<Rotation>, html: string, done: boolean): void {
    const messageId = waitingLines.get(rotation.id);
    if (messageId === undefined) return;
    if (done) waitingLines.delete(rotation.id);
    void serial(rotation.id, async () => {
      const shown = await sendOrEdit(
        {
          edit: (id) => api.editMessageText(opsChatId, id, html, { parse_mode: "HTML" }),
          send: () => sendToOps(rotation, html, { parse_mode: "HTML" }),
        },
        messageId,
      );
      if (!done) waitingLines.set(rotation.id, shown);
    });
  }

  function keyboardFor(rotation: Rotation, awaiting: Awaiting, actions: readonly ButtonAction[]): InlineKeyboard {
    const keyboard = new InlineKeyboard();
    actions.forEach((action, i) => {
      const label = (action !== "ask_again" && action !== "revoked" && awaiting.labels?.[action]) || LABELS[action];
      keyboard.text(label, encodeButton({ kind: "prompt", rotationId: rotation.id, nonce: awaiting.nonce, action }));
      if (i % 2 === 1) keyboard.row();
    });
    return keyboard;
  }

  async function postPrompt(rotation: Rotation, awaiting: Awaiting): Promise<void> {
    // A card of a rotation that ended (or moved on) while it waited its turn is never posted.
    if (!(await stillAsked(rotation, awaiting))) return;
    if (awaiting.kind === "collect" && answeredElsewhere(awaiting)) return;
    // Asked again (Ask me again, a restart): the earlier message of this prompt loses its buttons.
    if (prompts.has(awaiting.nonce)) void settlePrompt(rotation.id, awaiting.nonce, "Asked again in a newer message.");
    const signal = stateOf(rotation.id).cards.signal as unknown as ApiSignal;
    const userId = telegramUserOf(rotation);
    if (awaiting.kind === "collect" && userId !== undefined) {
      const request: OpenRequest = { rotationId: rotation.id, userId, nonce: awaiting.nonce, key: rotation.key };
      collecting.set(rotation.id, request);
      const privateText = `🔑 <b>${escapeHtml(rotation.key)}</b> (rotation <code>${rotation.id}</code>)\n\n${escapeHtml(awaiting.prompt)}\n\nSend it here as a plain message. I store it in the vault as <code>${escapeHtml(newKeyOf(rotation.key))}</code>, delete your message and show only its last 4 characters.`;
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
          const line = await urgent(async () => {
            await moveProgressDown(rotation, signal);
            return sendToOps(
              rotation,
              `🔑 Waiting for ${escapeHtml(rotation.initiator.name)} to send the new value of <code>${escapeHtml(rotation.key)}</code> in a private chat with me.`,
              { parse_mode: "HTML" },
              signal,
            );
          });
          waitingLines.set(rotation.id, line.message_id);
        }
      } catch (error) {
        if (!(error instanceof GrammyError && error.error_code === 403)) throw error;
        const text = `🔑 ${escapeHtml(rotation.initiator.name)}, I need the new value of <code>${escapeHtml(rotation.key)}</code> in a private chat, but I cannot write to you yet. Open @${escapeHtml(botUsername())}, press Start (or send /start), then press the button below.`;
        const sent = await urgent(async () => {
          await moveProgressDown(rotation, signal);
          return sendToOps(
            rotation,
            text,
            {
              parse_mode: "HTML",
              reply_markup: keyboardFor(rotation, awaiting, [
                "ask_again",
                ...buttonsOf(awaiting).filter((a) => a === "cancel"),
              ]),
            },
            signal,
          );
        });
        prompts.set(awaiting.nonce, { rotationId: rotation.id, chatId: opsChatId, messageId: sent.message_id, text });
      }
      return;
    }
    // The prompt says once that it cannot be undone; the card marks it and makes it bold.
    const undoable = !awaiting.prompt.includes(UNDOABLE);
    const [first, ...rest] = escapeHtml(awaiting.prompt).replace(UNDOABLE, `<b>${UNDOABLE}</b>`).split("\n\n");
    // A failed step's card quotes the lines of its log that say why, under its title.
    const cause = awaiting.kind === "failed" ? await causeOf(rotation, awaiting) : [];
    const prompt = [first, ...(cause.length > 0 ? [formatCause(cause)] : []), ...rest].join("\n\n");
    const asked = approverAsked(rotation, awaiting);
    const text = `${undoable ? "" : "⚠️ "}${prompt}\n\n<i>Rotation <code>${rotation.id}</code> of <code>${escapeHtml(rotation.key)}</code>; ${whoAnswers(rotation, awaiting, approval)}.</i>${asked ? `\n${asked}` : ""}`;
    const sent = await urgent(async () => {
      await moveProgressDown(rotation, signal);
      return sendToOps(
        rotation,
        text,
        { parse_mode: "HTML", reply_markup: keyboardFor(rotation, awaiting, buttonsOf(awaiting)) },
        signal,
      );
    });
    prompts.set(awaiting.nonce, { rotationId: rotation.id, chatId: opsChatId, messageId: sent.message_id, text });
  }

  /** The lines of the failed step's log that say why it failed (redacted). */
  async function causeOf(rotation: Readonly<Rotation>, awaiting: Awaiting): Promise<string[]> {
    const record = rotation.steps.find((s) => s.id === awaiting.stepId);
    // Without a log (a built-in check), the step's own message is the cause: nothing is added.
    return readFailureCause(record?.logFile, redact);
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
    // A card someone deleted has nothing left to settle.
    return serial(rotationId, () =>
      api
        .editMessageText(prompt.chatId, prompt.messageId, `${prompt.text}\n\n${escapeHtml(outcome)}`, {
          parse_mode: "HTML",
        })
        .catch((error: unknown) => {
          if (!isMessageGone(error)) throw error;
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

  /** The step's log as a document: whole, or its end with a first line that says what was cut and where the rest is. */
  async function sendFailureLog(rotation: Rotation, stepTitle: string, logFile: string | undefined): Promise<void> {
    if (!logFile) return;
    const tail = await readFileTail(logFile, maxLogBytes);
    if (!tail) return;
    const cut =
      tail.cutBytes > 0
        ? `[rotabot: the first ${megabytes(tail.cutBytes)} of this log were left out; the whole log is ${logFile} on the rotabot host]\n`
        : "";
    const name = `${rotation.id}-${stepTitle.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}.log`;
    await api.sendDocument(opsChatId, new InputFile(Buffer.concat([Buffer.from(cut), tail.content]), name), {
      caption: `${cut ? "The end of the output" : "Full output"} of “${stepTitle}” (redacted)`,
      ...topicOf(rotation),
    });
  }

  /** The "✅ Revoked" button under a message that lists credentials left unused, if there are any. */
  const revokedButton = (rotation: Readonly<Rotation>) =>
    unusedCredentials(rotation).length === 0
      ? {}
      : {
          reply_markup: new InlineKeyboard().text(
            LABELS.revoked,
            encodeButton({ kind: "prompt", rotationId: rotation.id, nonce: REVOKED_NONCE, action: "revoked" }),
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
      rotation,
      `🔑 No longer waiting for the new value of <code>${escapeHtml(rotation.key)}</code>: the rotation is being aborted.`,
      true,
    );
    const text = event.retry
      ? `🔁 Retrying the rollback of rotation <code>${rotation.id}</code> of <code>${escapeHtml(rotation.key)}</code> (${escapeHtml(actor.name)}): ${what} to run; the progress message shows each one.`
      : `⏹ Aborting rotation <code>${rotation.id}</code> of <code>${escapeHtml(rotation.key)}</code> (${escapeHtml(actor.name)}): rolling back ${what}; the progress message shows each one.`;
    if (!quiet(rotation)) void serial(rotation.id, () => sendToOps(rotation, text, { parse_mode: "HTML" }));
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
            rotation,
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
            rotation,
            `🔑 ${who} ${how} the new value of ${key}: received and accepted, stored in the vault as <code>${escapeHtml(rotation.key)}_new</code>${ending ? ` (ends in …${escapeHtml(ending)})` : ""}.`,
            true,
          );
        else
          editWaitingLine(
            rotation,
            `🔑 The value ${who} ${how} for ${key} was rejected: ${escapeHtml(event.refused)}. Nothing was stored; waiting for another value in the private chat.`,
            false,
          );
        break;
      }
      case "completed": {
        closeRequestOf(rotation.id);
        state.cards.abort();
        refreshProgress(rotation, true);
        const minutes = (
          (Date.parse(rotation.endedAt ?? rotation.updatedAt) - Date.parse(rotation.createdAt)) /
          60_000
        ).toFixed(1);
        // In a day, only a completion that leaves something to revoke needs a card of its own.
        if (quiet(rotation) && unusedCredentials(rotation).length === 0) break;
        void serial(rotation.id, async () => {
          const text = `🏁 <b>Rotation complete</b>: <code>${escapeHtml(rotation.key)}</code> in ${minutes} min. Vault, manifest and CHANGELOG updated${rotation.commit ? `, commit <code>${escapeHtml(rotation.commit)}</code>` : ""}.${rotation.owner ? ` Owner ${escapeHtml(rotation.owner)} notified.` : ""}${rotation.outage ? ` ⏱ ${escapeHtml(describeOutage(rotation)!)}.` : ""}${rotation.compromise ? `\n🚨 ${escapeHtml(describeExposure(rotation)!)}.` : ""}${escapeHtml(PROMPTS.leftOutside(rotation))}`;
          const sent = await sendToOps(rotation, text, { parse_mode: "HTML", ...revokedButton(rotation) });
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
        state.cards.abort();
        refreshProgress(rotation, true);
        settlePromptsOf(rotation.id, "rotation aborted");
        if (quiet(rotation) && unusedCredentials(rotation).length === 0) break;
        void serial(rotation.id, async () => {
          const text = `⏹ ${escapeHtml(rotation.message ?? "aborted")}`;
          const sent = await sendToOps(rotation, text, revokedButton(rotation));
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
        // At the end the completion message names the owner; an incident tells them at its start.
        if (rotation.compromise && rotation.state !== "completed")
          void serial(rotation.id, async () => {
            await sendToOps(rotation, incidentOwnerNotice(rotation), { parse_mode: "HTML" });
          });
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

/** A failed step's cause under its card's title: the log's own lines, as code. */
function formatCause(lines: readonly string[]): string {
  return `From the log:\n${lines.map((line) => `<code>${escapeHtml(line)}</code>`).join("\n")}`;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The owner's word at the start of a compromise rotation: what leaked, since when, and which order runs. */
function incidentOwnerNotice(rotation: Readonly<Rotation>): string {
  const c = rotation.compromise!;
  const owner = rotation.owner ? escapeHtml(rotation.owner) : "No owner in the manifest";
  return `🚨 ${owner}: <code>${escapeHtml(rotation.key)}</code> is suspected compromised (${escapeHtml(c.reason)}), exposed since ${escapeHtml(c.since)}${c.sinceGiven ? "" : " (the declaration)"}. Rotation <code>${escapeHtml(rotation.id)}</code> by ${escapeHtml(rotation.initiator.name)} started in the ${c.order} order; its completion message says how long the old value stayed accepted.`;
}
