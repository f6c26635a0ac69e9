import { describe, expect, it } from "vitest";
import { parseSince } from "../../../src/time/parse-since.js";
import { describeSeconds } from "../../../src/time/duration.js";

const NOW = new Date("2026-12-07T12:00:00.000Z");
const since = (text: string) => {
  const parsed = parseSince(text, NOW);
  return parsed.ok ? parsed.since.toISOString() : parsed.message;
};

describe("when a secret may have leaked (--since, /rotate … compromised … since)", () => {
  it("reads an ISO time with its zone, and a span back from now", () => {
    expect(since("2026-12-07T09:30Z")).toBe("2026-12-07T09:30:00.000Z");
    expect(since("2026-12-07T10:30:00+01:00")).toBe("2026-12-07T09:30:00.000Z");
    expect(since("90 min ago")).toBe("2026-12-07T10:30:00.000Z");
    expect(since("3h ago")).toBe("2026-12-07T09:00:00.000Z");
    expect(since("2 days ago")).toBe("2026-12-05T12:00:00.000Z");
  });

  it("refuses a time without a zone, one in the future and anything else, with examples", () => {
    expect(since("2026-12-07T09:30")).toMatch(
      /^"2026-12-07T09:30" is no time rotabot can read: .*\(2026-12-07T09:30Z\).*\(90 min ago, 3h ago, 2 days ago\)$/,
    );
    expect(since("yesterday")).toMatch(/is no time rotabot can read/);
    expect(since("2026-12-08T00:00Z")).toBe(
      "2026-12-08T00:00:00.000Z is in the future: write when the value may have leaked, which is now at the latest",
    );
  });
});

describe("a measured span as people read it", () => {
  it("seconds, then minutes, then hours", () => {
    expect(describeSeconds(42.34)).toBe("42.3 s");
    expect(describeSeconds(192)).toBe("3 min 12 s");
    expect(describeSeconds(7500)).toBe("2 h 05 min");
  });
});
