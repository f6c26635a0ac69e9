import { readFileSync } from "node:fs";
import path from "node:path";
import type { FakeBotApi, StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import {
  ACTION_CODES,
  decodeButton,
  type Button,
  type ButtonAction,
  type PlanAction,
} from "../../src/bot/protocol/button-codec.js";
import { ALICE, BOT, OPS, type ChatWorld } from "./chat-world.js";

export const textOf = (m: StoredMessage) => m.message.text ?? "";
export const buttonsOf = (m: StoredMessage) =>
  (m.message.reply_markup?.inline_keyboard ?? [])
    .flat()
    .flatMap((b) => ("callback_data" in b ? [b.callback_data] : []));

/** A prompt's answer by its action, or by the action's one-letter code in the callback data ("g" for go). */
export type PromptAnswer = ButtonAction | (typeof ACTION_CODES)[ButtonAction];

/** The first button of `m` that decodes to a button `matches` accepts (through rotabot's own codec). */
export const buttonOf = (m: StoredMessage, matches: (button: Button) => boolean) =>
  buttonsOf(m).find((data) => {
    const button = decodeButton(data);
    return button !== undefined && matches(button);
  });
/** A plan card's Start (or Retry) or Cancel button. */
export const planButton = (m: StoredMessage, action: PlanAction) =>
  buttonOf(m, (b) => b.kind === "plan" && b.action === action);
/** A button answering a prompt of `rotationId` (any prompt of it when `answer` is left out). */
export const promptButton = (m: StoredMessage, rotationId: string | undefined, answer?: PromptAnswer) =>
  buttonOf(
    m,
    (b) =>
      b.kind === "prompt" &&
      (rotationId === undefined || b.rotationId === rotationId) &&
      (answer === undefined || b.action === answer || ACTION_CODES[b.action] === answer),
  );

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
    (m) => m.botId === botId && !before.has(seen(m)) && planButton(m, "start") !== undefined,
    timeoutMs,
  );
  await options.beforeStart?.();
  const startedAt = Date.now();
  tg.pressButton({
    from: operator,
    chat: opsChat,
    messageId: plan.message.message_id,
    data: planButton(plan, options.startWith ?? "start")!,
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
        promptButton(m, rotationId) !== undefined && (m.message.chat.id === opsChat || m.message.chat.id === operator)
      );
    }, timeoutMs);
    handled.add(seen(next));
    if (textOf(next).includes("Rotation complete")) return { rotationId, prompts, startedAt, completedAt: Date.now() };
    prompts.push(textOf(next));
    if (options.onPrompt?.(next) === false) continue;
    const offers = (answer: ButtonAction) => promptButton(next, rotationId, answer) !== undefined;
    const press = (answer: ButtonAction) =>
      tg.pressButton({
        from: operator,
        chat: next.message.chat.id,
        messageId: next.message.message_id,
        data: promptButton(next, rotationId, answer)!,
      });
    if (offers("added_myself")) {
      if (!options.token) throw new Error(`asked for a token: ${textOf(next)}`);
      if (textOf(next).includes("does not look like")) throw new Error(`the pasted value was refused: ${textOf(next)}`);
      tg.userSends({ from: operator, chat: "private", text: options.token() });
    } else if (offers("go")) {
      press("go");
    } else if (offers("done")) {
      options.beforeDone?.(textOf(next));
      press("done");
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
    (m) => m.botId === BOT && m.message.message_id > before && planButton(m, "start") !== undefined,
  );
  tg.pressButton({
    from,
    chat: OPS,
    messageId: plan.message.message_id,
    data: planButton(plan, "start")!,
  });
  const started = await tg.waitForMessage(
    (m) => m.message.message_id === plan.message.message_id && /Started as rotation/.test(textOf(m)),
  );
  return /rotation (\S+):/.exec(textOf(started))![1]!;
}

export const promptOf = (w: ChatWorld, id: string, pattern: RegExp, after = 0) =>
  w.tg.waitForMessage(
    (m) =>
      m.botId === BOT && m.message.message_id > after && promptButton(m, id) !== undefined && pattern.test(textOf(m)),
    20_000,
  );
/** Presses the button of `prompt` that gives `answer` (an action, or its code: "g" for go). */
export const press = (w: ChatWorld, prompt: StoredMessage, answer: PromptAnswer, from = ALICE) =>
  w.tg.pressButton({
    from,
    chat: prompt.message.chat.id,
    messageId: prompt.message.message_id,
    data: promptButton(prompt, undefined, answer)!,
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
