import { readFileSync } from "node:fs";
import path from "node:path";
import type { FakeBotApi, StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { ALICE, BOT, OPS, type ChatWorld } from "./chat-world.js";

export const textOf = (m: StoredMessage) => m.message.text ?? "";
export const buttonsOf = (m: StoredMessage) =>
  (m.message.reply_markup?.inline_keyboard ?? [])
    .flat()
    .flatMap((b) => ("callback_data" in b ? [b.callback_data] : []));

export interface WalkOptions {
  tg: FakeBotApi;
  botId: number;
  opsChat: number;
  operator: number;
  /** What the operator pastes privately when asked for a token. */
  token?: () => string;
  /** Called with the prompt text before pressing Done on a manual step. */
  beforeDone?: (prompt: string) => void;
  /** How long to wait for the next prompt: real playbooks between two prompts take longer. */
  promptTimeoutMs?: number;
  /** Called with each prompt before it is answered; return false to leave it unanswered. */
  onPrompt?: (prompt: StoredMessage) => boolean | void;
  /** What the operator does between seeing the plan and pressing Start (the bench reads it for a while). */
  beforeStart?: () => Promise<void>;
  /** The forum topic of the ops chat the command is sent in. */
  topic?: number;
  /** The plan's button to press: Start (a compromised secret's compromise order), or its routine order. */
  startWith?: "start" | "routine";
}

/** A walked rotation: its id, the prompts answered, and when Start was pressed and "Rotation complete" showed (ms since the epoch). */
export interface WalkedRotation {
  rotationId: string;
  prompts: string[];
  startedAt: number;
  completedAt: number;
}

/** Plays the operator: /rotate, Start, then answers every prompt until the completion message. */
export async function walkRotation(command: string, options: WalkOptions): Promise<WalkedRotation> {
  const { tg, botId, opsChat, operator } = options;
  const timeoutMs = options.promptTimeoutMs ?? 20_000;
  const handled = new Set<string>();
  const seen = (m: StoredMessage) => `${m.message.chat.id}:${m.message.message_id}`;
  const before = new Set(tg.messages(opsChat).map(seen));
  tg.userSends({
    from: operator,
    chat: opsChat,
    text: command,
    ...(options.topic === undefined ? {} : { topic: options.topic }),
  });
  const plan = await tg.waitForMessage(
    (m) => m.botId === botId && !before.has(seen(m)) && buttonsOf(m).some((b) => b.endsWith("|start")),
    timeoutMs,
  );
  await options.beforeStart?.();
  const startedAt = Date.now();
  tg.pressButton({
    from: operator,
    chat: opsChat,
    messageId: plan.message.message_id,
    data: buttonsOf(plan).find((b) => b.endsWith(`|${options.startWith ?? "start"}`))!,
  });
  const started = await tg.waitForMessage(
    (m) =>
      m.message.message_id === plan.message.message_id &&
      m.message.chat.id === opsChat &&
      /Started as rotation|Not started/.test(textOf(m)),
    timeoutMs,
  );
  // A refusal names the rotation in the way ("rotation … of … is in flight"): never take that one for ours.
  const rotationId = /Started as rotation (\d{8}-\d{4}-[0-9a-f]{4})/.exec(textOf(started))?.[1];
  if (!rotationId) throw new Error(`rotation did not start: ${textOf(started)}`);
  const prompts: string[] = [];
  for (;;) {
    const next = await tg.waitForMessage((m) => {
      if (m.botId !== botId || m.deleted || handled.has(seen(m))) return false;
      if (m.message.chat.id === opsChat && textOf(m).includes("Rotation complete") && !before.has(seen(m))) return true;
      return (
        buttonsOf(m).some((b) => b.startsWith(`rt|${rotationId}|`)) &&
        (m.message.chat.id === opsChat || m.message.chat.id === operator)
      );
    }, timeoutMs);
    handled.add(seen(next));
    if (textOf(next).includes("Rotation complete")) return { rotationId, prompts, startedAt, completedAt: Date.now() };
    prompts.push(textOf(next));
    if (options.onPrompt?.(next) === false) continue;
    const buttons = buttonsOf(next);
    const press = (suffix: string) =>
      tg.pressButton({
        from: operator,
        chat: next.message.chat.id,
        messageId: next.message.message_id,
        data: buttons.find((b) => b.endsWith(`|${suffix}`))!,
      });
    if (buttons.some((b) => b.endsWith("|y"))) {
      if (!options.token) throw new Error(`asked for a token: ${textOf(next)}`);
      if (textOf(next).includes("does not look like")) throw new Error(`the pasted value was refused: ${textOf(next)}`);
      tg.userSends({ from: operator, chat: "private", text: options.token() });
    } else if (buttons.some((b) => b.endsWith("|g"))) {
      press("g");
    } else if (buttons.some((b) => b.endsWith("|d"))) {
      options.beforeDone?.(textOf(next));
      press("d");
    } else {
      throw new Error(`unexpected prompt in rotation ${rotationId}: ${textOf(next)}`);
    }
  }
}

/** /rotate, Start, and the rotation id; the caller answers the prompts. */
export async function startRotation(w: Pick<ChatWorld, "tg">, command: string, from = ALICE): Promise<string> {
  const { tg } = w;
  const before = tg.messages(OPS).length;
  tg.userSends({ from, chat: OPS, text: command });
  const plan = await tg.waitForMessage(
    (m) => m.botId === BOT && m.message.message_id > before && buttonsOf(m).some((b) => b.endsWith("|start")),
  );
  tg.pressButton({
    from,
    chat: OPS,
    messageId: plan.message.message_id,
    data: buttonsOf(plan).find((b) => b.endsWith("|start"))!,
  });
  const started = await tg.waitForMessage(
    (m) => m.message.message_id === plan.message.message_id && /Started as rotation/.test(textOf(m)),
  );
  return /rotation (\S+):/.exec(textOf(started))![1]!;
}

export const promptOf = (w: ChatWorld, id: string, pattern: RegExp, after = 0) =>
  w.tg.waitForMessage(
    (m) =>
      m.botId === BOT &&
      m.message.message_id > after &&
      buttonsOf(m).some((b) => b.startsWith(`rt|${id}|`)) &&
      pattern.test(textOf(m)),
    20_000,
  );
export const press = (w: ChatWorld, prompt: StoredMessage, suffix: string, from = ALICE) =>
  w.tg.pressButton({
    from,
    chat: prompt.message.chat.id,
    messageId: prompt.message.message_id,
    data: buttonsOf(prompt).find((b) => b.endsWith(`|${suffix}`))!,
  });
/** Presses `data` on `message` as a modified client could (the button need not be there); resolves with the bot's answer. */
export function pressForged(w: ChatWorld, message: StoredMessage, data: string, from = ALICE) {
  const queryId = w.tg.pressButton({
    from,
    chat: message.message.chat.id,
    messageId: message.message.message_id,
    data,
    forge: true,
  });
  return w.tg.waitForCall((c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === queryId);
}
export const completed = (w: ChatWorld, key: string) =>
  w.tg.waitForMessage(
    (m) => m.botId === BOT && textOf(m).includes("Rotation complete") && textOf(m).includes(key),
    30_000,
  );
export const journalOf = (w: ChatWorld, id: string) =>
  JSON.parse(readFileSync(path.join(w.infra.stateDir, "rotations", `${id}.json`), "utf8")) as {
    state: string;
    steps: { id: string; attempts: number; state: string }[];
  };
