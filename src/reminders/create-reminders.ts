import { readFile } from "node:fs/promises";
import { Cron } from "croner";
import writeFileAtomic from "write-file-atomic";
import type { ReminderSchedule } from "../config/parse-config.js";
import type { Logger } from "../logging/create-logger.js";

export interface RemindersDeps {
  schedule: ReminderSchedule;
  /** Remembers the last digest run, so a run missed while the bot was down is caught up once. */
  stateFile: string;
  /** Builds the digest as of `at` (now) and sends it, or decides nothing needs sending. Throws when it could not be sent. */
  runDigest: (at: Date) => Promise<"sent" | "nothing_due">;
  logger: Logger;
  now?: () => Date;
  /** A croner pattern instead of the daily one, for tests of the timer itself. */
  pattern?: string;
}

interface ReminderState {
  lastRunAt: string;
}

/**
 * The daily digest on a croner schedule in the configured time zone. At start, a run that was
 * due while rotabot was down (after the last recorded one) is made up for, once. A first start
 * records the schedule without sending. A failed send is logged and retried at the next start or run.
 */
export function createReminders({
  schedule,
  stateFile,
  runDigest,
  logger,
  now = () => new Date(),
  pattern,
}: RemindersDeps) {
  const cronPattern = pattern ?? `0 ${schedule.minute} ${schedule.hour} * * *`;
  let job: Cron | undefined;
  let running: Promise<void> = Promise.resolve();

  const readState = async (): Promise<ReminderState | undefined> => {
    try {
      const parsed = JSON.parse(await readFile(stateFile, "utf8")) as Partial<ReminderState>;
      return typeof parsed.lastRunAt === "string" && !Number.isNaN(Date.parse(parsed.lastRunAt))
        ? { lastRunAt: parsed.lastRunAt }
        : undefined;
    } catch {
      return undefined;
    }
  };
  const record = (at: Date) =>
    writeFileAtomic(stateFile, `${JSON.stringify({ lastRunAt: at.toISOString() } satisfies ReminderState)}\n`, {
      mode: 0o600,
    });

  const run = (scheduledFor: Date, why: "scheduled" | "catch_up") => {
    running = running.then(async () => {
      try {
        const outcome = await runDigest(now());
        await record(scheduledFor);
        logger.info(
          { scheduledFor: scheduledFor.toISOString(), why, outcome },
          outcome === "sent" ? "daily digest sent" : "daily digest: nothing needs action, nothing sent",
        );
      } catch (error) {
        logger.error(
          { err: error, scheduledFor: scheduledFor.toISOString(), why },
          "daily digest could not be sent; it is tried again at the next run or start",
        );
      }
    });
    return running;
  };

  return {
    /** Starts the timer and makes up for a missed run. Resolves after the catch-up run, if any. */
    async start(): Promise<void> {
      job = new Cron(cronPattern, { timezone: schedule.timeZone, protect: true }, () => {
        void run(now(), "scheduled");
      });
      const previous = job.previousRuns(1, now())[0];
      const state = await readState();
      logger.info(
        {
          at: `${String(schedule.hour).padStart(2, "0")}:${String(schedule.minute).padStart(2, "0")}`,
          timeZone: schedule.timeZone,
          next: job.nextRun()?.toISOString(),
        },
        "daily digest scheduled",
      );
      if (!previous) return;
      if (!state) {
        await record(previous);
        return;
      }
      if (Date.parse(state.lastRunAt) < previous.getTime()) await run(previous, "catch_up");
    },
    async stop(): Promise<void> {
      job?.stop();
      await running;
    },
  };
}
export type Reminders = ReturnType<typeof createReminders>;
