import { rename } from "node:fs/promises";
import path from "node:path";
import { writePlainFile } from "./plain-file.js";
import { fsyncPath } from "./replace-file.js";

/**
 * Writes `<dir>/<id>.json` atomically, as the journals do: under one fixed temp name beside it (a
 * crash's leftover is overwritten next time; never followed if it is a link), fsynced, renamed in
 * place, folder fsynced. Throws what the file system threw; the caller names the file and the fix.
 */
export async function writeStateJson(dir: string, id: string, value: unknown): Promise<void> {
  const temp = path.join(dir, `.${id}.json.tmp`);
  await writePlainFile(temp, `${JSON.stringify(value, null, 2)}\n`, 0o600);
  await rename(temp, path.join(dir, `${id}.json`));
  await fsyncPath(dir);
}
