import { afterAll, beforeAll } from "vitest";
import { startChatWorld, type ChatWorld } from "./chat-world.js";

/** One chat world with the bot running for the whole test file; the getter returns it. */
export function useChatWorld(extraEnv: Record<string, string> = {}): () => ChatWorld {
  let world: ChatWorld | undefined;
  beforeAll(async () => {
    world = await startChatWorld(extraEnv);
    await world.startBot();
  }, 60_000);
  afterAll(() => world?.stop());
  return () => world!;
}
