import type { Logger } from "../logging/create-logger.js";

export interface ChannelPosterDeps {
  send: (html: string) => Promise<unknown>;
  logger: Logger;
  /**
   * Audit messages per minute at most (the chat's send budget: 15 on Telegram). Lines arriving in
   * between are merged into the next message.
   */
  perMinute?: number;
}

const MAX_BATCH_CHARS = 3500;
/** How long the first line of a message waits for the lines that usually follow it (a step's end, its audit). */
const MAX_GATHER_MS = 2_000;

/**
 * Posts audit lines in order. Lines arriving within a few seconds go out together in one message,
 * and messages are at least 60 s / `perMinute` apart, so a rotation's dozen lines cost the chat a
 * few messages; nothing is dropped or reordered. The chat's send budget (createSendBudget) still
 * decides when each message may go.
 */
export function createChannelPoster({ send, logger, perMinute = 15 }: ChannelPosterDeps) {
  const intervalMs = 60_000 / perMinute;
  const gatherMs = Math.min(MAX_GATHER_MS, intervalMs);
  const queue: string[] = [];
  let lastSentAt = -Infinity;
  let running: Promise<void> | undefined;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const wait = Math.max(gatherMs, lastSentAt + intervalMs - Date.now());
      await new Promise((resolve) => setTimeout(resolve, wait));
      const batch: string[] = [];
      let size = 0;
      while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.length < MAX_BATCH_CHARS)) {
        size += queue[0]!.length + 1;
        batch.push(queue.shift()!);
      }
      lastSentAt = Date.now();
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
