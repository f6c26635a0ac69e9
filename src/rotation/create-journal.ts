import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readdir, readFile, rename } from "node:fs/promises";
import path from "node:path";
import { writeStateJson } from "../fs/write-state-json.js";
import { stateWriteError } from "../fs/state-write-error.js";
import type { Rotation } from "../model/rotation.js";

/**
 * Rotations on disk under STATE_DIR/rotations, one JSON file each, rewritten after every
 * transition atomically (temp file, fsync, rename, folder fsync).
 * Holds no secret values: the vault is their only resting place.
 */
export function createJournal(stateDir: string) {
  const dir = path.join(stateDir, "rotations");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (id: string) => path.join(dir, `${id}.json`);
  const ids = async () => (await readdir(dir)).filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5));
  async function inspect(id: string): Promise<Inspection> {
    if (!/^[a-z0-9-]+$/.test(id)) return { status: "missing", id };
    let text: string;
    try {
      text = await readFile(fileOf(id), "utf8");
    } catch {
      return { status: "missing", id };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      const problem = text.length === 0 ? "it is empty" : `it is not valid JSON (${text.length} bytes; cut short?)`;
      return { status: "damaged", id, file: fileOf(id), problem };
    }
    const problem = problemOf(parsed, id);
    if (problem) return { status: "damaged", id, file: fileOf(id), problem };
    return { status: "ok", id, rotation: migrate(parsed as Rotation | JournalV1) };
  }

  return {
    dir,
    /**
     * Written beside under one fixed temp name per rotation (a crash's leftover is simply
     * overwritten next time, never piles up), fsynced, renamed in place, folder fsynced. The temp
     * name is never followed if it is a symbolic link. A write that fails throws a StateWriteError
     * whose message names the file and the fix.
     */
    async save(rotation: Rotation): Promise<void> {
      const target = fileOf(rotation.id);
      try {
        await writeStateJson(dir, rotation.id, rotation);
      } catch (error) {
        throw stateWriteError(
          `the journal of rotation ${rotation.id}`,
          target,
          error,
          `rotabot resume ${rotation.id} (rotabot status shows where it stands)`,
        );
      }
    },

    /** A rotation's journal; undefined when there is none or it is damaged (see `inspect`). */
    async load(id: string): Promise<Rotation | undefined> {
      const found = await inspect(id);
      return found.status === "ok" ? found.rotation : undefined;
    },

    inspect,

    /** Keeps a damaged journal beside, for the post-mortem, before it is replaced. */
    async setAside(id: string): Promise<void> {
      await rename(fileOf(id), `${fileOf(id)}.damaged-${Date.now()}`).catch(() => undefined);
    },

    /** Every readable journaled rotation, newest first. */
    async list(): Promise<Rotation[]> {
      const found = await Promise.all((await ids()).map(inspect));
      return found
        .flatMap((f) => (f.status === "ok" ? [f.rotation] : []))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },

    /** Journals that exist but cannot be read (truncated by a crash, edited by hand). */
    async damaged(): Promise<Extract<Inspection, { status: "damaged" }>[]> {
      const found = await Promise.all((await ids()).map(inspect));
      return found.filter((f): f is Extract<Inspection, { status: "damaged" }> => f.status === "damaged");
    },
  };
}
export type Journal = ReturnType<typeof createJournal>;

export type Inspection =
  | { status: "ok"; id: string; rotation: Rotation }
  | { status: "missing"; id: string }
  | { status: "damaged"; id: string; file: string; problem: string };

/** What makes a parsed journal unusable, if anything: the fields every decision reads. */
function problemOf(value: unknown, id: string): string | undefined {
  if (typeof value !== "object" || value === null) return "it is not a rotation record";
  const r = value as Omit<Partial<Rotation>, "version"> & { version?: number };
  if (r.id !== id) return `it names rotation ${String(r.id)}, not ${id}`;
  if (r.version !== 1 && r.version !== 2) return `unknown journal version ${String(r.version)}`;
  if (typeof r.key !== "string" || typeof r.procedureId !== "string" || typeof r.state !== "string") {
    return "key, procedure or state is missing";
  }
  if (!Array.isArray(r.steps) || r.steps.some((s) => typeof s?.id !== "string" || typeof s.state !== "string")) {
    return "its steps are missing or incomplete";
  }
  return undefined;
}

type JournalV1 = Omit<Rotation, "version" | "environments" | "steps"> & {
  version: 1;
  environment: string;
  steps: Omit<Rotation["steps"][number], "stepId">[];
};

/** A rotation journaled by rotabot before environments (version 1) ran in one environment. */
function migrate(rotation: Rotation | JournalV1): Rotation {
  if (rotation.version === 2) return rotation;
  const { environment, steps, ...rest } = rotation;
  return { ...rest, version: 2, environments: [environment], steps: steps.map((s) => ({ ...s, stepId: s.id })) };
}

/** A short id that fits in callback data: `20261125-1432-a3f9`. */
export function newRotationId(now: Date): string {
  const stamp = now.toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}
