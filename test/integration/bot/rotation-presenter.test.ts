import { Api } from "grammy";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createRotationPresenter,
  MAX_LOG_DOCUMENT_BYTES,
} from "../../../src/bot/rotation/create-rotation-presenter.js";
import { createLogger } from "../../../src/logging/create-logger.js";
import { createRedactor } from "../../../src/logging/redactor.js";
import type { EngineEvent, RotationEngine } from "../../../src/rotation/create-rotation-engine.js";
import type { Rotation } from "../../../src/model/rotation.js";
import { startFakeBotApi, type FakeBotApi } from "../../../src/sandbox/telegram/fake-bot-api.js";

const BOT = 7001;
const OPS = -1001000000001;
const ALICE = 101;

let tg: FakeBotApi;
let token: string;
beforeEach(async () => {
  tg = await startFakeBotApi();
  ({ token } = tg.addBot({ id: BOT, username: "akira_rotabot" }));
  tg.addUser({ id: ALICE, first_name: "alice", username: "alice" });
  tg.addGroup({ id: OPS, title: "Akira Ops", members: [ALICE], bots: [BOT], adminBots: [BOT] });
});
afterEach(() => tg.close());

const at = new Date().toISOString();
const waiting: Rotation = {
  version: 2,
  id: "20261207-1200-ab12",
  key: "vault_billing_api_token",
  procedureId: "api-token",
  category: "api_token",
  initiator: { id: `tg:${ALICE}`, name: "@alice" },
  environments: ["staging"],
  state: "awaiting_operator",
  steps: [
    {
      id: "confirm",
      stepId: "confirm",
      title: "Confirm the maintenance window",
      kind: "confirm",
      phase: "procedure",
      destructive: false,
      idempotent: true,
      state: "awaiting",
      attempts: 0,
    },
  ],
  awaiting: {
    stepId: "confirm",
    kind: "confirm",
    nonce: "0123abcd",
    since: at,
    prompt: "Go on?",
    accepts: ["go", "cancel"],
  },
  createdAt: at,
  updatedAt: at,
};

/** An engine that only tells what happened and what the rotation looks like now. */
function fakeEngine(current: () => Rotation) {
  const listeners = new Set<(event: EngineEvent) => void>();
  const engine = {
    on: (listener: (event: EngineEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: () => Promise.resolve(structuredClone(current())),
  } as unknown as RotationEngine;
  return { engine, emit: (event: EngineEvent) => listeners.forEach((l) => l(event)) };
}

describe("the rotation presenter", () => {
  it("never posts a card whose rotation ended while the card waited its turn", async () => {
    let rotation = waiting;
    const { engine, emit } = fakeEngine(() => rotation);
    // The chat is slow: messages without buttons wait (as they would for the chat's send budget).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const isHolding = new Promise<void>((resolve) => (holding = resolve));
    const slow = new Api(token, { apiRoot: tg.url });
    slow.config.use(async (prev, method, payload, signal) => {
      if (method === "sendMessage" && !(payload as { reply_markup?: unknown }).reply_markup) {
        holding();
        await held;
      }
      return prev(method, payload, signal);
    });
    const presenter = createRotationPresenter({
      api: slow,
      engine,
      opsChatId: OPS,
      latestOpsMessageId: () => 0,
      botUsername: () => "akira_rotabot",
      logger: createLogger({ level: "silent", redactor: createRedactor() }),
    });
    emit({ type: "started", rotation });
    emit({ type: "awaiting", rotation, awaiting: rotation.awaiting! });
    await isHolding; // the progress message is on its way; the card waits behind it
    rotation = { ...waiting, state: "aborted", message: "aborted by @alice", endedAt: at };
    delete rotation.awaiting;
    emit({ type: "aborted", rotation, actor: waiting.initiator });
    release();
    await tg.waitForMessage((m) => m.message.text === "⏹ aborted by @alice");
    presenter.stop();
    const sent = tg.messages(OPS).filter((m) => m.botId === BOT);
    expect(sent.some((m) => (m.message.reply_markup?.inline_keyboard.length ?? 0) > 0)).toBe(false);
    expect(sent.some((m) => m.message.text?.includes("Go on?"))).toBe(false);
  });

  it("sends a card and the progress message moved down above it with the card's priority", async () => {
    const { engine, emit } = fakeEngine(() => waiting);
    let urgentDepth = 0;
    const writes: { text: string; urgent: boolean }[] = [];
    const recording = new Api(token, { apiRoot: tg.url });
    recording.config.use(async (prev, method, payload, signal) => {
      if (method === "sendMessage")
        writes.push({ text: String((payload as { text?: string }).text), urgent: urgentDepth > 0 });
      return prev(method, payload, signal);
    });
    const presenter = createRotationPresenter({
      api: recording,
      engine,
      opsChatId: OPS,
      // Something was posted below the progress message: it moves down above the card.
      latestOpsMessageId: () => Number.MAX_SAFE_INTEGER,
      botUsername: () => "akira_rotabot",
      logger: createLogger({ level: "silent", redactor: createRedactor() }),
      urgent: async (task) => {
        urgentDepth++;
        try {
          return await task();
        } finally {
          urgentDepth--;
        }
      },
    });
    emit({ type: "started", rotation: waiting });
    await tg.waitForMessage((m) => m.message.text?.startsWith("🔐 Rotation") === true);
    emit({ type: "awaiting", rotation: waiting, awaiting: waiting.awaiting! });
    await tg.waitForMessage((m) => m.message.text?.startsWith("Go on?") === true);
    presenter.stop();
    // The first progress message is chatter; its re-send above the card goes with the card.
    expect(
      writes.map((w) => [w.text.startsWith("🔐 <b>Rotation</b>") ? "progress" : w.text.split("\n")[0], w.urgent]),
    ).toEqual([
      ["progress", false],
      ["progress", true],
      ["Go on?", true],
    ]);
  });

  it("sends a long step log as its end, with a first line saying what was left out and where the whole log is", async () => {
    const { engine, emit } = fakeEngine(() => waiting);
    const logFile = path.join(mkdtempSync(path.join(tmpdir(), "presenter-")), "verify.log");
    writeFileSync(logFile, `${"noise\n".repeat(10_000)}fatal: [localhost]: the end\n`);
    const presenter = createRotationPresenter({
      api: new Api(token, { apiRoot: tg.url }),
      engine,
      opsChatId: OPS,
      latestOpsMessageId: () => 0,
      botUsername: () => "akira_rotabot",
      logger: createLogger({ level: "silent", redactor: createRedactor() }),
      maxLogBytes: 1_000,
    });
    const step = { ...waiting.steps[0]!, state: "failed" as const, logFile };
    emit({ type: "step_failed", rotation: waiting, step, ms: 10 });
    const sent = await tg.waitForMessage((m) => m.document !== undefined);
    presenter.stop();
    const content = sent.document!.content.toString();
    expect(content.length).toBeLessThanOrEqual(1_200);
    expect(content.split("\n")[0]).toMatch(
      new RegExp(
        `^\\[rotabot: the first 0\\.1 MB of this log were left out; the whole log is ${logFile} on the rotabot host\\]$`,
      ),
    );
    expect(content.endsWith("fatal: [localhost]: the end\n")).toBe(true);
    expect(sent.message.caption).toBe("The end of the output of “Confirm the maintenance window” (redacted)");
    expect(MAX_LOG_DOCUMENT_BYTES).toBeLessThan(50 * 1024 * 1024);
  });
});
