import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";
import type { Redactor } from "./redactor.js";

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Every written line passes through it, so no known secret value reaches the log. */
  redactor: Redactor;
  /** Where lines go; stdout when omitted. Tests pass a sink. */
  stream?: DestinationStream;
}

/** Field names that may hold credentials; pino removes them wherever they appear. */
const SENSITIVE_FIELDS = ["token", "botToken", "password", "secret", "value", "authorization", "BOT_TOKEN"];

/** The process logger: JSON lines, sensitive fields censored, known secret values redacted. */
export function createLogger({ level, redactor, stream }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { app: "rotabot" },
      redact: { paths: SENSITIVE_FIELDS.flatMap((f) => [f, `*.${f}`]), censor: "[redacted]" },
      hooks: { streamWrite: (line) => redactor.redact(line) },
    },
    stream ?? pino.destination({ dest: 1, sync: true }),
  );
}
