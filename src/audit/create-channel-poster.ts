import type { Logger } from "../logging/create-logger.js";

export interface ChannelPosterDeps {
  send: (html: string) => Promise<unknown>;
  logger: Logger;
  /** Telegram allows about 20 messages a minute in a group. */
  perMinute?: number;
  now?: () => number;
}

const MAX_BATCH_CHARS = 3500;

/**
 * Posts audit lines in order, one at a time. When lines arrive faster than the group limit
 * allows, the waiting ones go out together in one message, so nothing is dropped or reordered.
 */
export function createChannelPoster({ send, logger, perMinute = 20, now = Date.now }: ChannelPosterDeps) {
  const queue: string[] = [];
  const sent: number[] = [];
  let running: Promise<void> | undefined;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const windowStart = now() - 60_000;
      while (sent.length > 0 && sent[0]! < windowStart) sent.shift();
      if (sent.length >= perMinute) {
        await new Promise((resolve) => setTimeout(resolve, sent[0]! + 60_000 - now()));
        continue;
      }
      const batch: string[] = [];
      let size = 0;
      while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.length < MAX_BATCH_CHARS)) {
        size += queue[0]!.length + 1;
        batch.push(queue.shift()!);
      }
      sent.push(now());
      try {
        await send(batch.join("\n"));
      } catch (error) {
        logger.error(
          { err: error, lines: batch.length },
          "could not post audit lines to the audit chat; they are in the audit log (STATE_DIR/audit.jsonl)",
        );
      }
    }
  }

  return {
    post(line: string): void {
      queue.push(line);
      running ??= drain().finally(() => (running = undefined));
    },
    /** Resolves when every queued line has been sent (for shutdown). */
    async flushed(): Promise<void> {
      while (running) await running;
    },
  };
}
export type ChannelPoster = ReturnType<typeof createChannelPoster>;
