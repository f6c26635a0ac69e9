import { mkdirSync, mkdtempSync, rmdirSync, statSync } from "node:fs";
import path from "node:path";
import { fail, type Failure } from "../result.js";

export interface PrepareStateDirOptions {
  /** `write` (the default) creates the folder and proves it writable; `read` only checks what is there. */
  access?: "read" | "write";
  /** Folders rotabot keeps under it (journal, locks, logs): each must be a folder if it exists. */
  subfolders?: readonly string[];
}

/** Usable, or why not: `problem` and `fix` apart (for doctor) and together in `message`. */
export type StateDirCheck = { ok: true } | (Failure<"state_dir"> & { problem: string; fix: string });

const FIX = "set STATE_DIR to a folder the rotabot user can write (it holds the journals, locks and audit log)";

/**
 * Makes sure STATE_DIR can be used before anything opens a file under it: creates it (mode 0700)
 * when missing, and proves it is a folder this user can write by creating and removing a probe.
 * A problem comes back as one line that names the setting, the path, what is wrong and the fix.
 */
export function prepareStateDir(
  dir: string,
  { access = "write", subfolders = [] }: PrepareStateDirOptions = {},
): StateDirCheck {
  const refuse = (at: string, why: string, fix = FIX) => {
    const problem = `${at === dir ? dir : at} ${why}`;
    return {
      ...fail("state_dir", `STATE_DIR=${dir} cannot be used: ${at === dir ? "it" : at} ${why}; ${fix}`),
      problem,
      fix,
    };
  };
  try {
    for (const at of [dir, ...subfolders.map((name) => path.join(dir, name))]) {
      const found = statSync(at, { throwIfNoEntry: false });
      if (found && !found.isDirectory()) return refuse(at, "is a file, not a folder", `move the file away, or ${FIX}`);
    }
    if (access === "read") return { ok: true };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmdirSync(mkdtempSync(path.join(dir, ".probe-")));
    return { ok: true };
  } catch (error) {
    const { code, path: failed = dir } = error as NodeJS.ErrnoException;
    // Name the folder itself, not the probe inside it; an ancestor that could not be created by its path.
    const at = failed.startsWith(`${dir}${path.sep}`) ? dir : failed;
    const user = process.getuid ? ` (uid ${process.getuid()})` : "";
    switch (code) {
      case "ENOTDIR":
      case "EEXIST":
        return refuse(dir, "has a file where a folder on its path should be", `move the file away, or ${FIX}`);
      case "EACCES":
      case "EPERM":
        return refuse(at, `is not writable by this user${user}`, `give the rotabot user the folder, or ${FIX}`);
      case "EROFS":
        return refuse(at, "is on a read-only file system", FIX);
      case "ENOSPC":
      case "EDQUOT":
        return refuse(at, "is on a full disk (or quota)", `free some space, or ${FIX}`);
      default:
        return refuse(at, `gives ${code ?? "an error"}: ${(error as Error).message}`);
    }
  }
}
