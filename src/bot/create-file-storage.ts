import { mkdirSync } from "node:fs";
import { readFile, unlink } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";

/**
 * Key-value storage for conversation state: one JSON file per key under `dir`, written
 * atomically. Keys are the per-user storage keys, so they are safe file names.
 */
export function createFileStorage<T>(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (key: string) => path.join(dir, `${key.replace(/[^A-Za-z0-9_:-]/g, "_")}.json`);
  return {
    async read(key: string): Promise<T | undefined> {
      try {
        return JSON.parse(await readFile(fileOf(key), "utf8")) as T;
      } catch {
        return undefined;
      }
    },
    write: (key: string, value: T) => writeFileAtomic(fileOf(key), JSON.stringify(value), { mode: 0o600 }),
    delete: (key: string) => unlink(fileOf(key)).catch(() => undefined),
  };
}
