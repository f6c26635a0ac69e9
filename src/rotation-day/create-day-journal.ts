import { mkdirSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeStateJson } from "../fs/write-state-json.js";
import { stateWriteError } from "../fs/state-write-error.js";
import { newRotationId } from "../rotation/create-journal.js";
import type { Actor } from "../model/rotation.js";

/** How one secret of the day ended; `pending` until its turn, `running` while its rotation is driven. */
export type DayOutcome = "pending" | "running" | "completed" | "skipped" | "aborted" | "cancelled" | "not_started";

/** One secret of a day: which rotation ran it (its own id, lock and journal) and how it ended. */
export interface DayEntry {
  key: string;
  procedureId: string;
  outcome: DayOutcome;
  rotationId?: string;
  /** When its turn came (before the rotation started: a crash in between is found by key and time). */
  startedAt?: string;
  endedAt?: string;
  /** How it ended, in one line (the rotation's own summary, or why it did not start). */
  message?: string;
  commit?: string;
  /**
   * A credential the operator gave up front for it (never the value: its ending and what to revoke
   * if unused). Journaled when kept, so that a restart, which forgets the value, still names it.
   */
  heldUpFront?: { ending: string; revokeIfUnused?: string; given?: boolean };
}

/** A rotation day: the plan the operator started with one confirmation, and where it stands. */
export interface Day {
  version: 1;
  id: string;
  initiator: Actor;
  createdAt: string;
  /** `running` until every entry has an outcome or the operator aborted the day. */
  state: "running" | "ended";
  endedAt?: string;
  entries: DayEntry[];
}

/**
 * Rotation days on disk under STATE_DIR/days, one JSON file each, rewritten after every change
 * atomically (temp file, fsync, rename, folder fsync), as the rotation journal is. Holds keys,
 * rotation ids and outcomes; never a value.
 */
export function createDayJournal(stateDir: string) {
  const dir = path.join(stateDir, "days");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (id: string) => path.join(dir, `${id}.json`);
  async function read(name: string): Promise<Day | undefined> {
    try {
      const day = JSON.parse(await readFile(path.join(dir, name), "utf8")) as Partial<Day>;
      return day.version === 1 && typeof day.id === "string" && Array.isArray(day.entries) ? (day as Day) : undefined;
    } catch {
      return undefined;
    }
  }
  return {
    dir,
    /** A write that fails throws a StateWriteError naming the file and the fix. */
    async save(day: Day): Promise<void> {
      const target = fileOf(day.id);
      try {
        await writeStateJson(dir, day.id, day);
      } catch (error) {
        throw stateWriteError(`the journal of rotation day ${day.id}`, target, error, "rotabot rotate --due");
      }
    },
    /** The day still running (a restart resumes it), newest first if several; undefined when none. */
    async unfinished(): Promise<Day | undefined> {
      const names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
      const days = (await Promise.all(names.map(read))).filter((d): d is Day => d?.state === "running");
      return days.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    },
  };
}
export type DayJournal = ReturnType<typeof createDayJournal>;

/** A day's id, in the rotations' form with a `day-` prefix: `day-20261207-0930-a3f9`. */
export function newDayId(now: Date): string {
  return `day-${newRotationId(now)}`;
}
