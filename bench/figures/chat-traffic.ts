import { setTimeout as sleep } from "node:timers/promises";
import type { RecordedCall } from "../../src/sandbox/telegram/fake-bot-api.js";
import { AUDIT, BOT, driveDay, driveRotation, OPS, startBenchWorld } from "../lib/bench-world.js";
import type { Figure } from "../lib/measure.js";

const WRITES = /^(send[A-Z]\w*|copyMessages?|forwardMessages?|editMessage\w+)$/;
/** The local Bot API records a call when it answers it, so gaps carry some transport jitter. */
const JITTER_MS = 100;

interface ChatTraffic {
  chat: string;
  writes: number;
  edits: number;
  perMinute: number;
  perSecond: number;
  minGapMs: number;
}

/** Writes per chat: the most in any 60 s and in any 1 s window, and the shortest gap between two. */
function trafficOf(calls: readonly RecordedCall[], from: number): ChatTraffic[] {
  const byChat = new Map<string, RecordedCall[]>();
  for (const call of calls) {
    if (call.botId !== BOT || !call.ok || call.at < from || !WRITES.test(call.method)) continue;
    const id = call.params.chat_id;
    const chat = typeof id === "string" || typeof id === "number" ? String(id) : "";
    byChat.set(chat, [...(byChat.get(chat) ?? []), call]);
  }
  return [...byChat].map(([chat, list]) => {
    const times = list.map((c) => c.at).sort((a, b) => a - b);
    const most = (windowMs: number) =>
      Math.max(...times.map((t, i) => times.slice(i).filter((u) => u < t + windowMs).length));
    return {
      chat,
      writes: list.length,
      edits: list.filter((c) => c.method.startsWith("edit")).length,
      perMinute: most(60_000),
      perSecond: most(1_000 - JITTER_MS),
      minGapMs: Math.min(...times.slice(1).map((t, i) => t - times[i]!)),
    };
  });
}

/**
 * (e) Two rotations back to back against the local Bot API, with AUDIT_CHAT_ID unset and set;
 * then a rotation day (`/rotate due`) of the two API tokens due, AUDIT_CHAT_ID unset.
 */
export async function measureChatTraffic(): Promise<{ figures: Figure[]; notes: string[] }> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const run of ["unset", "set", "day"] as const) {
    const auditChat = run === "set";
    const world = await startBenchWorld({ auditChat });
    try {
      const from = Date.now();
      const [first, second] =
        run === "day"
          ? [await driveDay(world.tg).then((d) => ({ startedAt: d.startedAt, completedAt: d.endedAt }))]
          : [
              await driveRotation(world.tg, "/rotate vault_billing_api_token"),
              await driveRotation(world.tg, "/rotate vault_billing_api_token"),
            ];
      // Let the last audit lines go out (the poster merges them for a few seconds).
      let calls = world.tg.calls.length;
      do {
        calls = world.tg.calls.length;
        await sleep(6_000);
      } while (world.tg.calls.length > calls);
      const config =
        run === "day"
          ? "rotation day of 2, AUDIT_CHAT_ID unset"
          : auditChat
            ? "AUDIT_CHAT_ID set"
            : "AUDIT_CHAT_ID unset";
      const names: Record<string, string> = { [String(OPS)]: "ops group", [String(AUDIT)]: "audit channel" };
      for (const t of trafficOf(world.tg.calls, from)) {
        const name = names[t.chat] ?? `chat ${t.chat}`;
        figures.push({
          name: `(e) ${name}, ${config}: most writes in any minute`,
          value: t.perMinute,
          unit: "/min",
          goal: { text: "<= 15/min", met: t.perMinute <= 15 },
        });
        if (t.chat.startsWith("-"))
          figures.push({
            name: `(e) ${name}, ${config}: most writes in any second`,
            value: t.perSecond,
            unit: "/s",
            goal: { text: "<= 1/s", met: t.perSecond <= 1 },
          });
        notes.push(
          `(e) ${config}, ${name}: ${t.writes} writes (${t.edits} edits) during ${second ? `two rotations of ${((first.completedAt - first.startedAt) / 1000).toFixed(1)} s and ${((second.completedAt - second.startedAt) / 1000).toFixed(1)} s` : `a rotation day of ${((first.completedAt - first.startedAt) / 1000).toFixed(1)} s`}; shortest gap ${t.minGapMs} ms`,
        );
      }
    } finally {
      await world.stop();
    }
  }
  notes.push(
    `(e) writes = messages and edits; "in any second" counts writes less than ${1_000 - JITTER_MS} ms apart (the local Bot API stamps a call when it answers). Telegram: about 20 a minute per group, 1 a second per chat. The /rotate dialog's writes are counted too (its API objects get the budget through the client's fetch).`,
  );
  return { figures, notes };
}
