import { closeSync, constants, fstatSync, fsyncSync, openSync, writeSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";

/**
 * Files rotabot owns by name in folders others may write (the deploy marker in INFRA_DIR) or that
 * it rewrites under a fixed name (locks, the journal's and audit.head's temp files): opened with
 * O_NOFOLLOW, so a symbolic link planted at the name (dangling or not) is refused instead of
 * followed to a file elsewhere, and with O_NONBLOCK, so a named pipe there cannot hang rotabot.
 * Anything but a plain file is refused, naming what is there.
 */
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_NONBLOCK } = constants;

/** What a plain-file read found: nothing, a plain file's text, or something rotabot will not read. */
export type PlainFileRead =
  | { state: "missing" }
  | { state: "file"; text: string }
  | { state: "not_a_file"; /** "is a symbolic link", "is a folder", … */ what: string };

/** How a thing that is not a plain file is named: "is a symbolic link", "is a folder", … */
export function describeNonFile(stats: Pick<Stats, "isSymbolicLink" | "isDirectory" | "isFIFO" | "isSocket">): string {
  if (stats.isSymbolicLink()) return "is a symbolic link";
  if (stats.isDirectory()) return "is a folder";
  if (stats.isFIFO()) return "is a named pipe";
  if (stats.isSocket()) return "is a socket";
  return "is a device";
}

/** An errno-style error for a name that holds something other than a plain file (code EFTYPE). */
export class NotAPlainFileError extends Error {
  readonly code = "EFTYPE";
  constructor(
    readonly path: string,
    readonly what: string,
  ) {
    super(`${path} ${what}, not a plain file`);
    this.name = "NotAPlainFileError";
  }
}

/** Reads `file` if it is a plain file; never follows a symbolic link, never blocks on a pipe. */
export async function readPlainFile(file: string): Promise<PlainFileRead> {
  let handle;
  try {
    handle = await open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { state: "missing" };
    if (code === "ELOOP") return { state: "not_a_file", what: "is a symbolic link" };
    return { state: "not_a_file", what: `cannot be read (${code ?? "error"})` };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { state: "not_a_file", what: describeNonFile(stats) };
    return { state: "file", text: await handle.readFile("utf8") };
  } finally {
    await handle.close();
  }
}

/**
 * Creates `file` with `data`, only if nothing is at that name (O_EXCL: a symbolic link there,
 * even a dangling one, counts as taken). Throws EEXIST when something is there.
 */
export async function createPlainFile(file: string, data: string, mode: number): Promise<void> {
  const handle = await open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `file` (created or truncated), fsynced: for temp files under a fixed name that a
 * rename puts in place. A symbolic link at the name throws ELOOP, a folder EISDIR, a pipe or
 * anything else that is not a plain file NotAPlainFileError (EFTYPE).
 */
export async function writePlainFile(file: string, data: string, mode: number): Promise<void> {
  const handle = await open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK, mode);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new NotAPlainFileError(file, describeNonFile(stats));
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The synchronous form of writePlainFile (the audit log works synchronously under its lock). */
export function writePlainFileSync(file: string, data: string, mode: number): void {
  const fd = openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK, mode);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotAPlainFileError(file, describeNonFile(stats));
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
