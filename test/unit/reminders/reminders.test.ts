import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createReminders } from "../../../src/reminders/create-reminders.js";

const logger = pino({ level: "silent" });
const NINE_UTC = { hour: 9, minute: 0, timeZone: "UTC" };

function setup(state?: string) {
  const stateFile = path.join(mkdtempSync(path.join(tmpdir(), "reminders-")), "reminders.json");
  if (state !== undefined) writeFileSync(stateFile, state);
  const runs: Date[] = [];
  const runDigest = (at: Date) => {
    runs.push(at);
    return Promise.resolve("sent" as const);
  };
  const recorded = () => (JSON.parse(readFileSync(stateFile, "utf8")) as { lastRunAt: string }).lastRunAt;
  return { stateFile, runs, runDigest, recorded };
}

describe("daily digest schedule", () => {
  it("makes up once for a run missed while the bot was down, recording the slot it made up for", async () => {
    const s = setup(JSON.stringify({ lastRunAt: "2026-11-23T09:00:00.000Z" }));
    const now = () => new Date("2026-11-25T14:30:00Z");
    const reminders = createReminders({
      schedule: NINE_UTC,
      stateFile: s.stateFile,
      runDigest: s.runDigest,
      logger,
      now,
    });
    await reminders.start();
    await reminders.stop();
    expect(s.runs.map((d) => d.toISOString())).toEqual(["2026-11-25T14:30:00.000Z"]);
    expect(s.recorded()).toBe("2026-11-25T09:00:00.000Z");

    const again = createReminders({ schedule: NINE_UTC, stateFile: s.stateFile, runDigest: s.runDigest, logger, now });
    await again.start();
    await again.stop();
    expect(s.runs).toHaveLength(1);
  });

  it("does not send before today's time has come, and reads the time in the configured zone", async () => {
    const s = setup(JSON.stringify({ lastRunAt: "2026-11-24T08:00:00.000Z" }));
    // 09:00 in Berlin is 08:00 UTC in November; at 07:59 UTC the last due run is yesterday's.
    const reminders = createReminders({
      schedule: { ...NINE_UTC, timeZone: "Europe/Berlin" },
      stateFile: s.stateFile,
      runDigest: s.runDigest,
      logger,
      now: () => new Date("2026-11-25T07:59:00Z"),
    });
    await reminders.start();
    await reminders.stop();
    expect(s.runs).toEqual([]);
  });

  it("records the schedule on a first start without sending", async () => {
    const s = setup();
    const reminders = createReminders({
      schedule: NINE_UTC,
      stateFile: s.stateFile,
      runDigest: s.runDigest,
      logger,
      now: () => new Date("2026-11-25T10:00:00Z"),
    });
    await reminders.start();
    await reminders.stop();
    expect(s.runs).toEqual([]);
    expect(s.recorded()).toBe("2026-11-25T09:00:00.000Z");
  });

  it("keeps a failed send due, so the next start tries again", async () => {
    const s = setup(JSON.stringify({ lastRunAt: "2026-11-20T09:00:00.000Z" }));
    const failing = () => Promise.reject(new Error("Bot API unreachable"));
    const reminders = createReminders({
      schedule: NINE_UTC,
      stateFile: s.stateFile,
      runDigest: failing,
      logger,
      now: () => new Date("2026-11-25T10:00:00Z"),
    });
    await reminders.start();
    await reminders.stop();
    expect(s.recorded()).toBe("2026-11-20T09:00:00.000Z");
  });

  it("fires on its schedule while running", async () => {
    const s = setup(JSON.stringify({ lastRunAt: new Date().toISOString() }));
    const reminders = createReminders({
      schedule: NINE_UTC,
      stateFile: s.stateFile,
      runDigest: s.runDigest,
      logger,
      pattern: "* * * * * *",
    });
    await reminders.start();
    await expect.poll(() => s.runs.length, { timeout: 5_000 }).toBeGreaterThan(0);
    await reminders.stop();
    expect(Date.parse(s.recorded())).toBeGreaterThan(Date.now() - 5_000);
  });
});
