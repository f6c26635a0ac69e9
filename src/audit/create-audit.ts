import type { Logger } from "../logging/create-logger.js";
import { escapeHtml } from "../telegram/html.js";

/** Who did something, as Telegram describes them. */
export interface Actor {
  id: number;
  name: string;
  username?: string;
}

export interface ChatRef {
  id: number;
  type: string;
  title?: string;
}

export type AuditEvent =
  | { type: "bot_started"; version: string; procedures: number; runbookFile: string }
  | { type: "unauthorized"; actor: Actor; chat: ChatRef | undefined; action: string }
  | { type: "membership"; actor: Actor; chat: ChatRef; status: string };

export interface AuditDeps {
  /** Posts one HTML line to the audit chat. */
  post: (html: string) => Promise<unknown>;
  logger: Logger;
}

/** Records audit events: one line in the audit channel and one structured log entry each. */
export function createAudit({ post, logger }: AuditDeps) {
  return {
    async record(event: AuditEvent): Promise<void> {
      logger.info({ audit: event }, `audit: ${event.type}`);
      try {
        await post(formatAuditLine(event));
      } catch (error) {
        logger.error({ err: error, auditType: event.type }, "could not post the audit line to the audit chat; check AUDIT_CHAT_ID and that the bot is a member");
      }
    },
  };
}
export type Audit = ReturnType<typeof createAudit>;

/** One line per event, HTML-escaped; never contains a secret value because events carry none. */
export function formatAuditLine(event: AuditEvent): string {
  switch (event.type) {
    case "bot_started":
      return `🤖 rotabot ${escapeHtml(event.version)} started: ${event.procedures} procedures from <code>${escapeHtml(event.runbookFile)}</code>`;
    case "unauthorized":
      return `⛔ Refused: ${describeActor(event.actor)} tried <code>${escapeHtml(event.action)}</code> in ${describeChat(event.chat)}`;
    case "membership":
      return `👥 rotabot is now <b>${escapeHtml(event.status)}</b> in ${describeChat(event.chat)} (changed by ${describeActor(event.actor)})`;
  }
}

function describeActor(actor: Actor): string {
  const handle = actor.username ? ` @${escapeHtml(actor.username)}` : "";
  return `${escapeHtml(actor.name)}${handle} (id <code>${actor.id}</code>)`;
}

function describeChat(chat: ChatRef | undefined): string {
  if (!chat) return "an unknown chat";
  if (chat.type === "private") return "a private chat";
  return `${escapeHtml(chat.type)} “${escapeHtml(chat.title ?? "")}” (id <code>${chat.id}</code>)`;
}
