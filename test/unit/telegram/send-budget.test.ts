import type { ApiCallFn } from "grammy";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSendBudget } from "../../../src/telegram/create-send-budget.js";

interface Sent {
  method: string;
  chat: number | undefined;
  text: string;
  at: number;
}

let sent: Sent[];
const prev = ((method: string, payload: { chat_id?: number; text?: string }) => {
  sent.push({ method, chat: payload.chat_id, text: payload.text ?? "", at: Date.now() });
  return Promise.resolve({ ok: true, result: true });
}) as unknown as ApiCallFn;

const GROUP = -1001;
const OTHER_GROUP = -1002;
const keyboard = { inline_keyboard: [[{ text: "✅ Confirm", callback_data: "rt|x|y|go" }]] };

/** Largest number of writes to `chat` in any 60 s window, and the smallest gap between two of them. */
function rates(chat: number) {
  const times = sent.filter((s) => s.chat === chat).map((s) => s.at);
  const perMinute = Math.max(0, ...times.map((t, i) => times.slice(i).filter((u) => u < t + 60_000).length));
  const gap = Math.min(...times.slice(1).map((t, i) => t - times[i]!));
  return { perMinute, gap, count: times.length };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  sent = [];
});
afterEach(() => vi.useRealTimers());

describe("send budget (one per chat)", () => {
  it("sends at most 1 per second and 15 per minute to a chat, in order, and drops nothing", async () => {
    const budget = createSendBudget({ perMinute: 15 }).transformer;
    const calls = Array.from({ length: 40 }, (_, i) =>
      budget(prev, "sendMessage", { chat_id: GROUP, text: `line ${i}` }),
    );
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    await Promise.all(calls);
    expect(sent.map((s) => s.text)).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i}`));
    const { perMinute, gap } = rates(GROUP);
    expect(perMinute).toBeLessThanOrEqual(15);
    expect(gap).toBeGreaterThanOrEqual(1_000);
    // A fifth of the budget stays free for prompts, so chatter alone gets 12 a minute.
    expect(perMinute).toBe(12);
    expect(sent[0]!.at).toBe(1_000_000); // the first write goes at once
  });

  it("counts edits like messages, and leaves other calls alone", async () => {
    const budget = createSendBudget({ perMinute: 15 }).transformer;
    void budget(prev, "sendMessage", { chat_id: GROUP, text: "progress" });
    void budget(prev, "editMessageText", { chat_id: GROUP, message_id: 1, text: "progress 2" });
    void budget(prev, "answerCallbackQuery", { callback_query_id: "1" });
    void budget(prev, "deleteMessage", { chat_id: GROUP, message_id: 7 });
    void budget(prev, "getUpdates", { offset: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.method).sort()).toEqual([
      "answerCallbackQuery",
      "deleteMessage",
      "getUpdates",
      "sendMessage",
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent.map((s) => s.method).at(-1)).toBe("editMessageText");
  });

  it("keeps one budget per chat: a busy group does not delay another chat", async () => {
    const budget = createSendBudget({ perMinute: 15 }).transformer;
    for (let i = 0; i < 20; i++) void budget(prev, "sendMessage", { chat_id: GROUP, text: `audit ${i}` });
    void budget(prev, "sendMessage", { chat_id: OTHER_GROUP, text: "hello" });
    void budget(prev, "sendMessage", { chat_id: 42, text: "private" });
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.text)).toEqual(["audit 0", "hello", "private"]);
  });

  it("lets a prompt with buttons go before waiting chatter, using the reserve once chatter used its share", async () => {
    const budget = createSendBudget({ perMinute: 15 }).transformer;
    for (let i = 0; i < 30; i++) void budget(prev, "sendMessage", { chat_id: GROUP, text: `audit ${i}` });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sent).toHaveLength(12); // chatter has used its 12 of this minute
    const prompt = budget(prev, "sendMessage", { chat_id: GROUP, text: "Confirm?", reply_markup: keyboard });
    await vi.advanceTimersByTimeAsync(1_000);
    await prompt;
    expect(sent.at(-1)).toMatchObject({ text: "Confirm?", at: 1_020_000 });
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(rates(GROUP)).toMatchObject({ perMinute: 13, count: 31 });
    expect(rates(GROUP).gap).toBeGreaterThanOrEqual(1_000);
  });

  it("ranks every write made inside urgent() like a card: a progress message moved above a card goes with it", async () => {
    const budget = createSendBudget({ perMinute: 15 });
    for (let i = 0; i < 30; i++) void budget.transformer(prev, "sendMessage", { chat_id: GROUP, text: `audit ${i}` });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sent).toHaveLength(12);
    const card = budget.urgent(async () => {
      await budget.transformer(prev, "sendMessage", { chat_id: GROUP, text: "progress, moved down" });
      await budget.transformer(prev, "sendMessage", { chat_id: GROUP, text: "Confirm?", reply_markup: keyboard });
    });
    const edit = budget.urgent(() =>
      budget.transformer(prev, "editMessageText", { chat_id: GROUP, message_id: 3, text: "Started" }),
    );
    await vi.advanceTimersByTimeAsync(3_000);
    await Promise.all([card, edit]);
    expect(sent.slice(12).map((s) => s.text)).toEqual(["progress, moved down", "Started", "Confirm?"]);
    // Outside urgent(), the same plain message waits behind the chatter.
    void budget.transformer(prev, "sendMessage", { chat_id: GROUP, text: "plain" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent.at(-1)?.text).not.toBe("plain");
  });

  it("shares the budget between everything that writes to the chat: audit lines, prompts, edits, replies", async () => {
    const budget = createSendBudget({ perMinute: 15 }).transformer;
    for (let round = 0; round < 20; round++) {
      void budget(prev, "sendMessage", { chat_id: GROUP, text: `audit ${round}` });
      void budget(prev, "editMessageText", { chat_id: GROUP, message_id: 1, text: `progress ${round}` });
      if (round % 4 === 0)
        void budget(prev, "sendMessage", { chat_id: GROUP, text: `prompt ${round}`, reply_markup: keyboard });
      await vi.advanceTimersByTimeAsync(2_000);
    }
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(rates(GROUP)).toMatchObject({ perMinute: 15, count: 45 });
    expect(rates(GROUP).gap).toBeGreaterThanOrEqual(1_000);
    // Each prompt went within about a second of being asked, however long the chatter queue.
    for (const round of [0, 4, 8, 12, 16]) {
      const prompt = sent.find((s) => s.text === `prompt ${round}`)!;
      expect(prompt.at - (1_000_000 + round * 2_000)).toBeLessThanOrEqual(2_000);
    }
  });

  it("scales down the gap only for a test budget far above Telegram's limits", async () => {
    const budget = createSendBudget({ perMinute: 600 }).transformer;
    for (let i = 0; i < 10; i++) void budget(prev, "sendMessage", { chat_id: GROUP, text: `m ${i}` });
    await vi.advanceTimersByTimeAsync(900);
    expect(sent).toHaveLength(10);
    expect(rates(GROUP).gap).toBe(100);
  });

  it("budgets the calls only its fetch sees (the /rotate dialog's), and counts a transformer's call once", async () => {
    const http: string[] = [];
    const underlying = ((url: string, init: { body: string }) => {
      const { text = "" } = JSON.parse(init.body) as { text?: string };
      http.push(text);
      sent.push({ method: url.split("/").pop()!, chat: GROUP, text, at: Date.now() });
      return Promise.resolve({ ok: true });
    }) as unknown as Parameters<typeof createSendBudget>[0]["fetch"];
    const budget = createSendBudget({ perMinute: 15, fetch: underlying });
    const url = (method: string) => `http://127.0.0.1:1/bot1:x/${method}`;
    const post = (method: string, payload: object) =>
      budget.fetch(url(method), { method: "POST", body: JSON.stringify(payload) });
    // bot.api's call: the transformer takes the budget, then its HTTP request passes the fetch untouched.
    const viaApi = ((method: string, payload: object) => post(method, payload)) as unknown as ApiCallFn;
    void budget.transformer(viaApi, "sendMessage", { chat_id: GROUP, text: "progress" });
    // The dialog's calls: only the fetch sees them.
    void post("sendMessage", { chat_id: GROUP, text: "plan card", reply_markup: keyboard });
    void post("editMessageText", { chat_id: GROUP, message_id: 3, text: "Started as rotation" });
    void post("getUpdates", { offset: 5, timeout: 30 });
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.method).sort()).toEqual(["getUpdates", "sendMessage"]);
    await vi.advanceTimersByTimeAsync(2_000);
    const writes = sent.filter((s) => s.method !== "getUpdates");
    expect(writes.map((s) => s.text)).toEqual(["progress", "plan card", "Started as rotation"]);
    expect(writes.map((s) => s.at)).toEqual([1_000_000, 1_001_000, 1_002_000]);
    expect(http.filter((text) => text === "progress")).toHaveLength(1);
  });

  it("gives up a waiting write when its request is cancelled", async () => {
    const budget = createSendBudget({ perMinute: 15 }).transformer;
    void budget(prev, "sendMessage", { chat_id: GROUP, text: "first" });
    const controller = new AbortController();
    const cancelled = budget(
      prev,
      "sendMessage",
      { chat_id: GROUP, text: "cancelled" },
      controller.signal as Parameters<typeof budget>[3],
    );
    const third = budget(prev, "sendMessage", { chat_id: GROUP, text: "third" });
    controller.abort();
    await expect(cancelled).rejects.toThrow(/cancelled while it waited/);
    await vi.advanceTimersByTimeAsync(1_000);
    await third;
    expect(sent.map((s) => s.text)).toEqual(["first", "third"]);
  });
});
