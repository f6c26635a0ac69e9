import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createChannelPoster } from "../../../src/audit/create-channel-poster.js";

let sent: { at: number; text: string }[];
const send = async (text: string) => {
  sent.push({ at: Date.now(), text });
  await Promise.resolve();
};
const logger = pino({ level: "silent" });
const allLines = () => sent.flatMap((s) => s.text.split("\n"));

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  sent = [];
});
afterEach(() => vi.useRealTimers());

describe("audit channel poster", () => {
  it("merges the lines of a burst into one message, in order", async () => {
    const poster = createChannelPoster({ send, logger, perMinute: 15 });
    for (let i = 1; i <= 10; i++) {
      poster.post(`line ${i}`);
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    await poster.flushed();
    expect(sent).toEqual([{ at: 1_002_000, text: Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n") }]);
  });

  it("sends at most perMinute messages a minute however the lines trickle in, and drops nothing", async () => {
    const poster = createChannelPoster({ send, logger, perMinute: 15 });
    for (let i = 1; i <= 120; i++) {
      poster.post(`line ${i}`);
      await vi.advanceTimersByTimeAsync(500);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    await poster.flushed();
    expect(allLines()).toEqual(Array.from({ length: 120 }, (_, i) => `line ${i + 1}`));
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(4_000);
    expect(sent.length).toBeLessThanOrEqual(16); // 60 s of lines: 15 a minute, and the last batch
  });

  it("splits a long backlog into messages that fit Telegram's limit", async () => {
    const poster = createChannelPoster({ send, logger, perMinute: 15 });
    for (let i = 1; i <= 60; i++) poster.post(`${i} ${"x".repeat(200)}`);
    await vi.advanceTimersByTimeAsync(60_000);
    await poster.flushed();
    expect(sent.every((s) => s.text.length < 3_500)).toBe(true);
    expect(sent.length).toBe(4);
    expect(allLines().map((l) => Number(l.split(" ")[0]))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it("keeps going when a message cannot be sent (the lines are in the audit log)", async () => {
    let fail = true;
    const poster = createChannelPoster({
      send: async (text) => {
        if (fail) {
          fail = false;
          throw new Error("Bad Gateway");
        }
        await send(text);
      },
      logger,
      perMinute: 15,
    });
    poster.post("lost in the chat, kept in audit.jsonl");
    await vi.advanceTimersByTimeAsync(3_000);
    poster.post("next");
    await vi.advanceTimersByTimeAsync(10_000);
    await poster.flushed();
    expect(sent.map((s) => s.text)).toEqual(["next"]);
  });

  it("follows a test budget far above Telegram's: lines wait a tenth of a second, not two", async () => {
    const poster = createChannelPoster({ send, logger, perMinute: 600 });
    poster.post("bot started");
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.map((s) => s.text)).toEqual(["bot started"]);
  });
});
