import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import type { Redactor } from "../logging/redactor.js";

export interface CommandSpec {
  argv: readonly string[];
  /** Extra variables for this command only (secret values go here or in stdin, never in argv). */
  env?: Readonly<Record<string, string>>;
  stdin?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Each output line, already redacted. */
  onLine?: (line: string) => void;
  /** A file that receives the redacted output. */
  logFile?: string;
  /** Called once the command runs, with its process group id (it leads its own group). */
  onStart?: (pgid: number) => void;
}

export type CommandResult =
  | { ok: true; exitCode: 0; tail: string[] }
  | {
      ok: false;
      reason: "exit" | "timeout" | "cancelled" | "not_found";
      exitCode: number | undefined;
      message: string;
      tail: string[];
    };

export interface CommandRunnerDeps {
  cwd: string;
  /** The allowlisted base environment (see allowedEnv). */
  baseEnv: Readonly<Record<string, string>>;
  redactor: Redactor;
  /** Time between SIGTERM to the process group and SIGKILL. */
  killGraceMs?: number;
}

const TAIL_LINES = 30;

/**
 * Runs commands without a shell, in their own process group so that timeout and cancel end the
 * whole tree. Output is merged, split in lines, redacted, then streamed and kept as a tail.
 */
export function createCommandRunner({ cwd, baseEnv, redactor, killGraceMs = 5_000 }: CommandRunnerDeps) {
  return async function runCommand(spec: CommandSpec): Promise<CommandResult> {
    const [file, ...args] = spec.argv;
    if (file === undefined) throw new Error("runCommand needs a non-empty argv");
    const tail: string[] = [];
    // A log that cannot be written (EACCES, ENOSPC under STATE_DIR) fails the command, never the process.
    let logError: NodeJS.ErrnoException | undefined;
    const log = spec.logFile ? await openLog(spec.logFile) : undefined;
    if (log && "error" in log) {
      const message = `${file} was not run: ${logProblem(spec.logFile!, log.error)}`;
      return { ok: false, reason: "exit", exitCode: undefined, message, tail };
    }
    log?.stream.on("error", (error: NodeJS.ErrnoException) => (logError ??= error));
    const logClosed = log && new Promise<void>((resolve) => log.stream.once("close", resolve));
    const emit = (raw: string) => {
      const line = redactor.redact(raw);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (!logError) log?.stream.write(`${line}\n`);
      spec.onLine?.(line);
    };
    emit(`$ ${spec.argv.join(" ")}`);

    const child = execa(file, args, {
      cwd,
      env: { ...baseEnv, ...spec.env },
      extendEnv: false,
      input: spec.stdin ?? "",
      all: true,
      buffer: false,
      detached: true,
      reject: false,
      stripFinalNewline: false,
    });
    if (child.pid !== undefined) spec.onStart?.(child.pid);
    let ended: "timeout" | "cancelled" | undefined;
    const killTree = (why: "timeout" | "cancelled") => {
      if (ended || child.pid === undefined) return;
      ended = why;
      signalGroup(child.pid, "SIGTERM");
      setTimeout(() => signalGroup(child.pid!, "SIGKILL"), killGraceMs).unref();
    };
    const timer = setTimeout(() => killTree("timeout"), spec.timeoutMs);
    const onAbort = () => killTree("cancelled");
    spec.signal?.addEventListener("abort", onAbort);
    if (spec.signal?.aborted) onAbort();

    let pending = "";
    child.all?.on("data", (chunk: Buffer) => {
      const lines = (pending + chunk.toString("utf8")).split(/\r?\n/);
      pending = lines.pop() ?? "";
      lines.forEach(emit);
    });
    const result = await child;
    clearTimeout(timer);
    spec.signal?.removeEventListener("abort", onAbort);
    if (pending !== "") emit(pending);
    if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
    log?.stream.end();
    await logClosed;

    if (ended) {
      const message =
        ended === "timeout"
          ? `timed out after ${Math.round(spec.timeoutMs / 1000)} s and was stopped`
          : "was cancelled and stopped";
      return { ok: false, reason: ended, exitCode: result.exitCode, message: `${file} ${message}`, tail };
    }
    if (result.failed && result.exitCode === undefined) {
      const notFound = (result.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
      const message = notFound
        ? `${file} was not found on PATH; install it on the ops host`
        : redactor.redact(result.shortMessage ?? `${file} could not be started`);
      return { ok: false, reason: notFound ? "not_found" : "exit", exitCode: undefined, message, tail };
    }
    if (logError) {
      const ran = result.exitCode === 0 ? "ran to the end" : `exited with code ${result.exitCode}`;
      const message = `${file} ${ran}, but ${logProblem(spec.logFile!, logError)}`;
      return { ok: false, reason: "exit", exitCode: result.exitCode, message, tail };
    }
    if (result.exitCode !== 0) {
      return {
        ok: false,
        reason: "exit",
        exitCode: result.exitCode,
        message: `${file} exited with code ${result.exitCode}`,
        tail,
      };
    }
    return { ok: true, exitCode: 0, tail };
  };
}
export type RunCommand = ReturnType<typeof createCommandRunner>;

/** Opens a step's log for appending (its folder created), or says why it cannot. */
async function openLog(file: string): Promise<{ stream: WriteStream } | { error: NodeJS.ErrnoException }> {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
  const stream = createWriteStream(file, { flags: "a", mode: 0o600 });
  return new Promise((resolve) => {
    stream.once("open", () => resolve({ stream }));
    stream.once("error", (error: NodeJS.ErrnoException) => resolve({ error }));
  });
}

function logProblem(file: string, error: NodeJS.ErrnoException): string {
  return `its log ${file} could not be written (${error.code ?? error.message}): make ${path.dirname(file)} writable by the user rotabot runs as and free space on its disk (df -h ${path.dirname(file)}), then Retry`;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
