/** What a CLI command may touch of the outside world; tests pass their own. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  packageRoot: string;
  version: string;
  now: () => Date;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal: Promise<string>;
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, attention: 1, usage: 2 } as const;
