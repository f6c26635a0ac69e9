import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

/** Questions on a terminal or a pipe; undefined answers mean the input ended. */
export interface Prompter {
  ask(question: string): Promise<string | undefined>;
  /** Reads without echo on a terminal. */
  askHidden(question: string): Promise<string | undefined>;
  close(): void;
}

export function createPrompter(
  input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => void },
  output: Writable,
): Prompter {
  const rl = createInterface({ input, terminal: false });
  const lines: AsyncIterator<string> = rl[Symbol.asyncIterator]();
  const next = async (): Promise<string | undefined> => {
    const result = await lines.next();
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
    close: () => rl.close(),
  };
}
