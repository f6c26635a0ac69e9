import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { StagingBox } from "../start-staging-box.js";
import { SANDBOX_IDS } from "../start-staging-box.js";
import type { StoredMessage } from "../telegram/fake-bot-api.js";
import { listenLocal, readBody } from "../stand-ins/listen-local.js";
import { WEB_CHAT_PAGE } from "./page.js";

const CHATS = [
  { id: SANDBOX_IDS.opsChat, title: "Akira Ops (group)", canSend: true },
  { id: SANDBOX_IDS.alice, title: "Private chat with @akira_rotabot", canSend: true },
  { id: SANDBOX_IDS.auditChat, title: "Akira Audit (channel)", canSend: false },
] as const;

const send = z.object({ chatId: z.number().int(), text: z.string().min(1).max(4096) });
const press = z.object({ chatId: z.number().int(), messageId: z.number().int(), data: z.string().min(1).max(64) });
/** A token is named by its last four characters: the page never holds a working token it did not just create. */
const revoke = z.object({ ending: z.string().length(4) });
const ending = (token: string) => token.slice(-4);
const byEnding = (tokens: string[], wanted: string) => {
  const token = tokens.find((t) => ending(t) === wanted);
  if (!token) throw new Error(`no active token ends in ${wanted}`);
  return token;
};

/**
 * The sandbox's web chat on 127.0.0.1: the ops group, the audit channel and Alice's private chat
 * with the bot, drawn from the local Bot API server, plus the places outside Telegram a rotation
 * sends you to (BotFather, the SignalWire dashboard, Sentry's client keys). The person using it
 * is Alice, an operator. The API is JSON; the page polls /api/state.
 */
export async function startWebChat({
  box,
  port = 8080,
}: {
  box: Pick<StagingBox, "telegram" | "repository" | "sentry">;
  port?: number;
}) {
  const { telegram, repository, sentry } = box;
  const outside: { at: number; from: string; text: string }[] = [];
  /** Where the page opens a document a message carries (a step's log): served by this server, as text. */
  const documentUrl = (m: StoredMessage) => `/api/document/${m.message.chat.id}/${m.message.message_id}`;
  const view = (m: StoredMessage) => ({
    id: m.message.message_id,
    from:
      m.botId === SANDBOX_IDS.rotabot
        ? "rotabot"
        : m.botId === SANDBOX_IDS.notifyBot
          ? "Akira alerts"
          : (m.message.from?.first_name ?? "?"),
    mine: m.message.from?.id === SANDBOX_IDS.alice,
    text: m.deleted
      ? "(deleted)"
      : (m.message.text ??
        m.message.caption ??
        (m.message.document ? `📎 ${m.message.document.file_name ?? "document"}` : "")),
    deleted: m.deleted,
    edited: m.message.edit_date !== undefined,
    ...(m.document && !m.deleted
      ? { document: { name: m.message.document?.file_name ?? "document", url: documentUrl(m) } }
      : {}),
    buttons: (m.message.reply_markup?.inline_keyboard ?? []).map((row) =>
      row.flatMap((b) => ("callback_data" in b ? [{ text: b.text, data: b.callback_data }] : [])),
    ),
  });
  const state = () => ({
    chats: CHATS.map((chat) => ({ ...chat, messages: telegram.messages(chat.id).map(view) })),
    outside,
    // Alerts the bot showed on button presses ("Only alice can answer this", expired prompts).
    notices: telegram.calls
      .filter((c) => c.method === "answerCallbackQuery" && c.ok && typeof c.params.text === "string")
      .map((c) => ({ at: c.at, text: c.params.text as string })),
    version: telegram.calls.length + outside.length,
  });
  const note = (from: string, text: string) => outside.push({ at: Date.now(), from, text });

  const actions: Record<string, (body: unknown) => unknown> = {
    "/api/send": (body) => {
      const { chatId, text } = send.parse(body);
      if (!CHATS.some((c) => c.id === chatId && c.canSend))
        throw new Error("you can write in the ops group and in your private chat with the bot");
      telegram.userSends({ from: SANDBOX_IDS.alice, chat: chatId === SANDBOX_IDS.alice ? "private" : chatId, text });
      return {};
    },
    "/api/press": (body) => {
      const { chatId, messageId, data } = press.parse(body);
      telegram.pressButton({ from: SANDBOX_IDS.alice, chat: chatId, messageId, data });
      return {};
    },
    // BotFather's /revoke: the bot gets a new token and the old one stops working at once.
    "/api/botfather/token": () => {
      const before = telegram.tokenOf(SANDBOX_IDS.notifyBot);
      const token = telegram.issueNewToken(SANDBOX_IDS.notifyBot);
      note(
        "BotFather",
        `Token …${ending(before)} of @akira_alerts_bot revoked: it now answers 401. New token:\n${token}\nPaste it in your private chat with rotabot when it asks.`,
      );
      return { token };
    },
    "/api/signalwire/token": () => {
      const token = repository.createToken();
      note("SignalWire", `New Personal Access Token:\n${token}`);
      return { token };
    },
    "/api/signalwire/revoke": (body) => {
      const token = byEnding(repository.activeTokens(), revoke.parse(body).ending);
      repository.revokeToken(token);
      note("SignalWire", `Personal Access Token …${token.slice(-4)} revoked.`);
      return {};
    },
    "/api/sentry/dsn": () => {
      const dsn = sentry.createDsn();
      note(
        "Sentry",
        `New client key (DSN) for project 4507; the other keys keep working until you disable them:\n${dsn}`,
      );
      return { dsn };
    },
    "/api/sentry/disable": (body) => {
      const key = byEnding(sentry.activeKeys(), revoke.parse(body).ending);
      sentry.disableKey(key);
      note("Sentry", `Client key …${ending(key)} disabled: events with its DSN are refused.`);
      return {};
    },
  };

  // DNS rebinding: a page on any name that resolves to 127.0.0.1 would reach this server with its
  // own name in Host, and could then drive the chat and read the tokens. Only our own names pass.
  const ownHosts = new Set<string>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const json = (status: number, value: unknown) =>
      res
        .writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" })
        .end(JSON.stringify(value));
    if (!ownHosts.has((req.headers.host ?? "").toLowerCase()))
      return json(421, { error: `this sandbox answers only as ${[...ownHosts].join(" or ")}` });
    if (req.method === "GET" && url.pathname === "/") {
      res
        .writeHead(200, {
          "Content-Type": "text/html; charset=utf-8",
          "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        })
        .end(WEB_CHAT_PAGE);
      return;
    }
    if (req.method === "GET" && url.pathname === "/api/state")
      return json(200, {
        ...state(),
        tokens: {
          botfather: [ending(telegram.tokenOf(SANDBOX_IDS.notifyBot))],
          signalwire: repository.activeTokens().map(ending),
          sentry: sentry.activeKeys().map(ending),
        },
      });
    const opened = /^\/api\/document\/(-?\d+)\/(\d+)$/.exec(url.pathname);
    if (req.method === "GET" && opened) {
      const chatId = Number(opened[1]);
      const stored = CHATS.some((c) => c.id === chatId)
        ? telegram.messages(chatId).find((m) => m.message.message_id === Number(opened[2]))
        : undefined;
      if (!stored?.document || stored.deleted) return json(404, { error: "no such document in these chats" });
      // Shown as text in the browser, never run: the log is what a command printed.
      res
        .writeHead(200, {
          "Content-Type": "text/plain; charset=utf-8",
          "Content-Disposition": `inline; filename="${stored.document.filename.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
          "X-Content-Type-Options": "nosniff",
          "Content-Security-Policy": "sandbox; default-src 'none'",
          "Cache-Control": "no-store",
        })
        .end(stored.document.content);
      return;
    }
    const action = actions[url.pathname];
    if (req.method !== "POST" || !action) return json(404, { error: "not found" });
    // Only this page may call the API: a browser sends Origin on cross-site POSTs.
    if (req.headers.origin && req.headers.origin !== `http://${req.headers.host}`)
      return json(403, { error: "cross-origin request refused" });
    try {
      json(200, action(JSON.parse((await readBody(req)) || "{}")));
    } catch (error) {
      json(400, { error: error instanceof z.ZodError ? "bad request" : (error as Error).message });
    }
  };

  const server = await listenLocal(handle, port);
  const bound = new URL(server.url).port;
  ownHosts.add(`127.0.0.1:${bound}`).add(`localhost:${bound}`);
  return server;
}
