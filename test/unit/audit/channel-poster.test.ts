import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createChannelPoster } from "../../../src/audit/create-channel-poster.js";

afterEach(() => vi.useRealTimers());

describe("audit channel poster", () => {
  it("sends at most the limit per minute, batches the rest in order, and drops nothing", async () => {
    vi.useFakeTimers();
    const sent: { at: number; text: string }[] = [];
    const poster = createChannelPoster({
      send: async (text) => {
        sent.push({ at: Date.now(), text });
        await Promise.resolve();
      },
      logger: pino({ level: "silent" }),
      perMinute: 3,
    });
    for (let i = 1; i <= 10; i++) {
      poster.post(`line ${i}`);
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(61_000);
    await poster.flushed();
    expect(sent.slice(0, 3).map((s) => s.text)).toEqual(["line 1", "line 2", "line 3"]);
    expect(sent.filter((s) => s.at < sent[0]!.at + 60_000)).toHaveLength(3);
    expect(sent.flatMap((s) => s.text.split("\n"))).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 1}`));
    expect(sent.length).toBe(4);
  });
});
