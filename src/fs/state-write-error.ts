import path from "node:path";

/**
 * A file under STATE_DIR that rotabot could not write (a journal, audit.head): one line that names
 * the file, what is in the way and the fix, for the operator; never a stack trace.
 */
export class StateWriteError extends Error {
  constructor(
    /** The file rotabot meant to write. */
    readonly file: string,
    /** Where the write failed (the file, its temp file or its folder). */
    readonly at: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "StateWriteError";
  }
}

/**
 * Wraps a failed write of `file` (`what` names it for people: "the journal of rotation …") into
 * a StateWriteError whose message says what is wrong and what to do, then `then` (the command
 * that continues, such as `rotabot resume <id>`).
 */
export function stateWriteError(what: string, file: string, error: unknown, then: string): StateWriteError {
  const { code, path: source, dest } = error as NodeJS.ErrnoException & { dest?: string };
  // A rename that fails because of its destination (a folder in the way) names it in `dest`.
  const failedAt =
    dest !== undefined && (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST") ? dest : source;
  const at = typeof failedAt === "string" ? failedAt : file;
  const user = process.getuid ? `uid ${process.getuid()}` : "this user";
  const [why, fix] = ((): [string, string] => {
    switch (code) {
      case "EISDIR":
        return [`${at} is a folder`, `move it away (mv ${at} ${at}.moved), after looking at what is in it`];
      case "ELOOP":
        return [
          `${at} is a symbolic link, which rotabot never follows there`,
          `remove the link (rm ${at}) and find out who made it`,
        ];
      case "EFTYPE":
      case "ENXIO":
        return [`${at} is not a plain file (a named pipe, socket or device)`, `remove it (rm ${at})`];
      case "ENOSPC":
      case "EDQUOT":
        return [`the disk holding ${path.dirname(at)} is full (or its quota is)`, "free some space"];
      case "EACCES":
      case "EPERM":
        return [
          `${user} may not write ${path.dirname(at)}`,
          `give the rotabot user the folder (chown -R <rotabot user>: ${path.dirname(at)})`,
        ];
      case "EROFS":
        return [`${path.dirname(at)} is on a read-only file system`, "set STATE_DIR to a writable folder"];
      case "ENOENT":
        return [`${path.dirname(at)} is gone`, "check that STATE_DIR still exists and is not being cleaned up"];
      default:
        return [
          `${code ?? "an error"}: ${(error as Error).message ?? String(error)}`,
          "check STATE_DIR (rotabot doctor)",
        ];
    }
  })();
  return new StateWriteError(file, at, code, `cannot write ${what} (${file}): ${why}. Fix: ${fix}, then ${then}`);
}
