import type { RotationEngine, StartRequest } from "../rotation/create-rotation-engine.js";
import type { Rotation } from "../model/rotation.js";
import { isTerminal } from "../rotation/queries.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import type { Day, DayEntry, DayJournal } from "./create-day-journal.js";

type EngineResult = Awaited<ReturnType<RotationEngine["start"]>>;

/**
 * How a front end's drive of one rotation ended: `stopped` when the front end stopped before the
 * rotation ended (a signal, the input closed, a question left open): the day stays running and a
 * restart resumes it. Otherwise the rotation ended, and the operator's choice at a failure says
 * what the day does next: `skip` (this one was rolled back, go on) or `abortDay` (rolled back,
 * start no more).
 */
export type DriveOutcome = { stopped: true } | { stopped: false; skip?: boolean; abortDay?: boolean };

export interface RunDayDeps {
  engine: Pick<RotationEngine, "start" | "resume" | "get" | "active">;
  journal: Pick<DayJournal, "save">;
  runbook: Runbook;
  now: () => Date;
  /** What each rotation is started with besides its procedure and key (initiator, incident, owner). */
  request: (entry: DayEntry) => Omit<StartRequest, "procedure" | "key">;
  /** A front end drives one rotation: calls `begin` (start or resume), answers its prompts, returns when it ends or the front end stops. */
  drive: (entry: DayEntry, begin: () => Promise<EngineResult>) => Promise<DriveOutcome>;
  /** Told of every change of the day, after it is journaled (a front end's progress line). */
  onChange?: (day: Readonly<Day>) => void;
}

/**
 * Runs a rotation day's entries one after another, each an ordinary rotation of the engine (its
 * own id, lock and journal). The day is journaled before and after each rotation, so a restart
 * resumes it: a rotation in flight is resumed, one already ended is recorded, the rest run. A
 * rotation that cannot start is recorded as `not_started` with the engine's reason, and the
 * others go on. Returns the day, `running` when the front end stopped, else `ended`.
 */
export async function runDay(deps: RunDayDeps, day: Day): Promise<Day> {
  const save = async () => {
    await deps.journal.save(day);
    deps.onChange?.(day);
  };
  for (const entry of day.entries) {
    if (entry.outcome !== "pending" && entry.outcome !== "running") continue;
    const procedure = deps.runbook.procedures.find((p) => p.id === entry.procedureId);
    if (!procedure) {
      end(entry, "not_started", deps.now(), `the runbook has no procedure ${entry.procedureId} any more`);
      await save();
      continue;
    }
    entry.startedAt ??= deps.now().toISOString();
    entry.rotationId ??= await adopt(deps, entry);
    entry.outcome = "running";
    await save();
    const already = entry.rotationId === undefined ? undefined : await deps.engine.get(entry.rotationId);
    let outcome: DriveOutcome = { stopped: false };
    if (!already || !isTerminal(already)) {
      const begin = async (): Promise<EngineResult> => {
        if (entry.rotationId !== undefined) return deps.engine.resume(entry.rotationId);
        const started = await deps.engine.start({ ...deps.request(entry), procedure, key: entry.key });
        if (started.ok) {
          entry.rotationId = started.rotation.id;
          await save();
        } else {
          end(entry, "not_started", deps.now(), started.message);
          await save();
        }
        return started;
      };
      outcome = await deps.drive(entry, begin);
      if ((entry.outcome as DayEntry["outcome"]) === "not_started") continue; // begin recorded why
      if (outcome.stopped) return day;
    }
    const rotation = entry.rotationId === undefined ? undefined : await deps.engine.get(entry.rotationId);
    if (!rotation || !isTerminal(rotation)) return day; // the front end returned while it waits: resumed later
    recordEnd(entry, rotation, outcome, deps.now());
    if (!outcome.stopped && outcome.abortDay) {
      for (const rest of day.entries)
        if (rest.outcome === "pending") end(rest, "not_started", deps.now(), "the day was aborted before its turn");
    }
    await save();
  }
  day.state = "ended";
  day.endedAt = deps.now().toISOString();
  await save();
  return day;
}

function end(entry: DayEntry, outcome: DayEntry["outcome"], now: Date, message: string): void {
  entry.outcome = outcome;
  entry.endedAt = now.toISOString();
  entry.message = message;
}

function recordEnd(entry: DayEntry, rotation: Readonly<Rotation>, outcome: DriveOutcome, now: Date): void {
  const skip = !outcome.stopped && outcome.skip === true;
  const abortDay = !outcome.stopped && outcome.abortDay === true;
  const state = rotation.state === "completed" ? "completed" : skip ? "skipped" : abortDay ? "aborted" : "cancelled";
  end(entry, state, rotation.endedAt ? new Date(rotation.endedAt) : now, rotation.message ?? rotation.state);
  if (rotation.commit) entry.commit = rotation.commit;
}

/**
 * A rotation of this entry's key started at its turn but not yet written into the day (a crash
 * between the start and the day's journal): found among those in flight, it is resumed, not
 * started twice (the lock would refuse that anyway).
 */
async function adopt(deps: RunDayDeps, entry: DayEntry): Promise<string | undefined> {
  if (entry.startedAt === undefined) return undefined;
  const active = await deps.engine.active();
  return active.find((r) => r.key === entry.key && r.createdAt >= entry.startedAt!)?.id;
}
