import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

/** Questions on a terminal or a pipe; undefined answers mean the input ended or a stop signal came. */
export interface Prompter {
  ask(question: string): Promise<string | undefined>;
  /** Reads without echo on a terminal. */
  askHidden(question: string): Promise<string | undefined>;
  /** The signal (SIGTERM, SIGINT) that ended the questions, if one did; undefined while none came. */
  stoppedBy(): string | undefined;
  close(): void;
}

/**
 * Reads answers line by line. When `stop` resolves (SIGINT/SIGTERM), a pending question and every
 * later one answers undefined at once, and `stoppedBy` names the signal: a waiting `rotabot
 * rotate` then ends instead of ignoring the signal.
 */
export function createPrompter(
  input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => void },
  output: Writable,
  stop: Promise<string> = new Promise<string>(() => undefined),
): Prompter {
  const rl = createInterface({ input, terminal: false });
  const lines: AsyncIterator<string> = rl[Symbol.asyncIterator]();
  let stopped: string | undefined;
  const stoppedNow = stop.then((signal) => {
    stopped = signal;
    return undefined;
  });
  // One pending read at a time: a question left unanswered by a stop keeps its read for the next one.
  let pending: Promise<IteratorResult<string>> | undefined;
  const next = async (): Promise<string | undefined> => {
    if (stopped !== undefined) return undefined;
    pending ??= lines.next();
    const read = pending;
    const result = await Promise.race([read, stoppedNow]);
    if (result === undefined) return undefined;
    pending = undefined;
    return result.done ? undefined : result.value;
  };
  return {
    async ask(question) {
      output.write(question);
      return next();
    },
    async askHidden(question) {
      output.write(question);
      if (!input.isTTY || !input.setRawMode) return next();
      input.setRawMode(true);
      try {
        return await next();
      } finally {
        input.setRawMode(false);
        output.write("\n");
      }
    },
    stoppedBy: () => stopped,
    close: () => rl.close(),
  };
}
