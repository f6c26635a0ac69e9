import { AsyncLocalStorage } from "node:async_hooks";
import type { ApiClientOptions, Transformer } from "grammy";
import nodeFetch from "node-fetch";

/**
 * Methods that put a message into a chat or change one there: what Telegram's flood limits count
 * ("no more than one message per second in a chat", "no more than 20 messages per minute to the
 * same group", about 20 edits per minute in a group: core.telegram.org/bots/faq, grammy.dev/advanced/flood).
 */
const CHAT_WRITES = new Set([
  "sendMessage",
  "sendDocument",
  "sendPhoto",
  "sendVideo",
  "sendAudio",
  "sendVoice",
  "sendAnimation",
  "sendSticker",
  "sendMediaGroup",
  "sendLocation",
  "sendVenue",
  "sendContact",
  "sendPoll",
  "sendDice",
  "copyMessage",
  "copyMessages",
  "forwardMessage",
  "forwardMessages",
  "editMessageText",
  "editMessageCaption",
  "editMessageMedia",
  "editMessageReplyMarkup",
]);

const WINDOW_MS = 60_000;

type Fetch = NonNullable<ApiClientOptions["fetch"]>;

export interface SendBudgetOptions {
  /** Writes (messages and edits) per chat in any 60 seconds. */
  perMinute: number;
  /** Least time between two writes to one chat; default 1 s, shorter only for budgets above 60. */
  minGapMs?: number;
  now?: () => number;
  /** The HTTP client under `fetch`: node-fetch, which grammY uses on Node. */
  fetch?: Fetch;
}

/** The two places the budget is installed; both share every chat's budget. */
export interface SendBudget {
  /** `bot.api.config.use(budget.transformer)`: calls through bot.api and every ctx.api outside conversations. */
  transformer: Transformer;
  /**
   * The bot's `client.fetch`: the calls that bot.api's transformers never see, made by the API
   * objects that @grammyjs/conversations builds from the client options (the /rotate dialog).
   * Calls already let through by the transformer pass untouched; replayed conversation calls
   * never reach it.
   */
  fetch: Fetch;
  /**
   * Runs `task` with every write it makes ranked like a message with buttons: what must stand with
   * a card (the progress message moved down above it, the plan card's "Started" edit) goes with
   * the card, before waiting chatter, instead of seconds after it.
   */
  urgent: <T>(task: () => Promise<T>) => Promise<T>;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

interface ChatState {
  /** When each write of the last minute was let through, oldest first. */
  granted: number[];
  /** Messages with buttons someone must press: they go first and may use the reserve. */
  urgent: Waiter[];
  other: Waiter[];
  timer?: NodeJS.Timeout;
}

/**
 * One send budget per chat, shared by everything that writes there (audit lines, progress edits,
 * prompts, the digest, replies, the /rotate dialog): a grammY API transformer, plus the same budget
 * as the client's `fetch` for the API objects transformers do not reach, that holds a write until
 * the chat has room for it: at most `perMinute` in any minute and one per
 * `minGapMs`. Writes wait in order; a message with buttons (a prompt someone must answer) goes
 * before waiting audit lines and edits, and a fifth of the budget is kept for such messages, so a
 * rotation never waits on its own chatter. Other calls pass untouched; 429s stay auto-retry's job.
 */
export function createSendBudget({
  perMinute,
  minGapMs = Math.min(1_000, WINDOW_MS / perMinute),
  now = Date.now,
  fetch = nodeFetch,
}: SendBudgetOptions): SendBudget {
  const reserve = Math.floor(perMinute / 5);
  const chats = new Map<string, ChatState>();
  /** Set while a call that the transformer let through is on its way to `fetch`. */
  const granted = new AsyncLocalStorage<true>();
  /** Set inside `urgent(task)`. */
  const urgentTask = new AsyncLocalStorage<true>();
  const isUrgent = (method: string, payload: unknown) => urgentTask.getStore() === true || isPrompt(method, payload);

  function pump(key: string, chat: ChatState): void {
    for (;;) {
      const at = now();
      while (chat.granted.length > 0 && chat.granted[0]! <= at - WINDOW_MS) chat.granted.shift();
      const urgent = chat.urgent.length > 0;
      const next = urgent ? chat.urgent[0] : chat.other[0];
      if (!next) {
        if (chat.granted.length === 0) chats.delete(key);
        return;
      }
      const cap = urgent ? perMinute : perMinute - reserve;
      const last = chat.granted.at(-1);
      const readyAt = Math.max(
        at,
        last === undefined ? at : last + minGapMs,
        chat.granted.length < cap ? at : chat.granted[chat.granted.length - cap]! + WINDOW_MS,
      );
      if (readyAt > at) {
        chat.timer = setTimeout(() => {
          chat.timer = undefined;
          pump(key, chat);
        }, readyAt - at);
        return;
      }
      (urgent ? chat.urgent : chat.other).shift();
      chat.granted.push(at);
      next.resolve();
    }
  }

  function acquire(key: string, urgent: boolean, signal: Parameters<Transformer>[3]): Promise<void> {
    let chat = chats.get(key);
    if (!chat) {
      chat = { granted: [], urgent: [], other: [] };
      chats.set(key, chat);
    }
    const state = chat;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      (urgent ? state.urgent : state.other).push(waiter);
      signal?.addEventListener("abort", () => {
        const queue = urgent ? state.urgent : state.other;
        const index = queue.indexOf(waiter);
        if (index < 0) return;
        queue.splice(index, 1);
        reject(new Error("the Telegram call was cancelled while it waited for the chat's send budget"));
      });
      clearTimeout(state.timer);
      state.timer = undefined;
      pump(key, state);
    });
  }

  return {
    transformer: async (prev, method, payload, signal) => {
      const chatId = CHAT_WRITES.has(method) ? (payload as { chat_id?: number | string }).chat_id : undefined;
      // Edits of inline messages carry no chat_id and belong to no chat's budget.
      if (chatId !== undefined) await acquire(String(chatId), isUrgent(method, payload), signal);
      return granted.run(true, () => prev(method, payload, signal));
    },
    fetch: (async (url: unknown, init?: { body?: unknown }) => {
      const method = String(url).split("/").pop() ?? "";
      // Multipart uploads (documents) come only through bot.api, whose transformer saw them.
      if (!granted.getStore() && CHAT_WRITES.has(method) && typeof init?.body === "string") {
        const payload = JSON.parse(init.body) as { chat_id?: number | string };
        if (payload.chat_id !== undefined) await acquire(String(payload.chat_id), isUrgent(method, payload), undefined);
      }
      return fetch(url as never, init as never);
    }) as Fetch,
    urgent: (task) => urgentTask.run(true, task),
  };
}

/** A new message with buttons or a forced reply: someone has to act on it. */
function isPrompt(method: string, payload: unknown): boolean {
  if (!method.startsWith("send")) return false;
  const markup = (payload as { reply_markup?: { inline_keyboard?: unknown[]; force_reply?: boolean } }).reply_markup;
  return (markup?.inline_keyboard?.length ?? 0) > 0 || markup?.force_reply === true;
}
