import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { Rotation } from "./model.js";

/**
 * Rotations on disk under STATE_DIR/rotations, one JSON file each, rewritten after every
 * transition atomically (write-file-atomic: temp file, fsync, rename).
 * Holds no secret values: the vault is their only resting place.
 */
export function createJournal(stateDir: string) {
  const dir = path.join(stateDir, "rotations");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (id: string) => path.join(dir, `${id}.json`);

  return {
    dir,
    async save(rotation: Rotation): Promise<void> {
      await writeFileAtomic(fileOf(rotation.id), `${JSON.stringify(rotation, null, 2)}\n`, {
        mode: 0o600,
        fsync: true,
      });
    },

    async load(id: string): Promise<Rotation | undefined> {
      if (!/^[a-z0-9-]+$/.test(id)) return undefined;
      try {
        return migrate(JSON.parse(await readFile(fileOf(id), "utf8")) as Rotation | JournalV1);
      } catch {
        return undefined;
      }
    },

    /** Every journaled rotation, newest first. */
    async list(): Promise<Rotation[]> {
      const names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
      const rotations = await Promise.all(names.map((n) => this.load(n.slice(0, -5))));
      return rotations
        .filter((r): r is Rotation => r !== undefined)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
  };
}
export type Journal = ReturnType<typeof createJournal>;

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
