import type { Logger } from "../logging/create-logger.js";
import type { Actor } from "../model/rotation.js";
import { escapeHtml } from "../telegram/html.js";

export interface ChatRef {
  id: number;
  type: string;
  title?: string;
}

/** A rotation as audit lines name it. */
interface RotationRef {
  id: string;
  key: string;
}

export type AuditEvent =
  | {
      type: "bot_started";
      version: string;
      procedures: number;
      runbookFile: string;
      /** The audit log's key id (an outside copy of which key signs the log), and the line this start keyed it from. */
      auditKey?: { id: string; keyedFrom: number | undefined } | undefined;
    }
  | { type: "unauthorized"; actor: Actor; chat: ChatRef | undefined; action: string }
  | { type: "membership"; actor: Actor; chat: ChatRef; status: string }
  | { type: "chat_unreachable"; chat: string; chatId: number; problem: string; fix: string }
  | {
      type: "rotation_started";
      rotation: RotationRef;
      by: string;
      environment: string;
      incident: string | undefined;
      /** A suspected compromise: since when, and which order the operator chose. */
      compromise?: { since: string; sinceGiven: boolean; order: string } | undefined;
      /** The approver asked by name (`approver @bob`), if any. */
      approver?: string | undefined;
    }
  | { type: "rotation_refused"; key: string; by: string; reason: string }
  | { type: "step_ok"; rotation: RotationRef; step: string; seconds: number; skipped: boolean }
  | { type: "step_failed"; rotation: RotationRef; step: string; seconds: number; message: string }
  | { type: "answered"; rotation: RotationRef; step: string; answer: string; by: string }
  | { type: "press_refused"; rotation: RotationRef; by: Actor; reason: string }
  | { type: "value_checked"; rotation: RotationRef; step: string; how: string; by: string; refused: string | undefined }
  | { type: "plan_press_refused"; key: string | undefined; by: Actor; owner: string; button: string }
  | { type: "secret_exposed"; by: string; chat: string; what: string; deleted: boolean }
  | { type: "break_glass"; rotation: RotationRef; step: string; answer: string; by: string; reason: string }
  | {
      type: "prompt_expired";
      rotation: RotationRef;
      step: string;
      /** The approver asked by name whose name lapsed with it: any approver may approve from then on. */
      approverLapsed?: string | undefined;
    }
  | { type: "rotation_aborting"; rotation: RotationRef; by: string; steps: number; retry: boolean }
  | {
      type: "rollback_step";
      rotation: RotationRef;
      step: string;
      state: string;
      message: string | undefined;
    }
  /** The rollback could not undo everything: the rotation stays in flight; the message names the actions. */
  | { type: "rollback_failed"; rotation: RotationRef; by: string; message: string }
  | { type: "rotation_aborted"; rotation: RotationRef; by: string; message: string }
  /** Someone said the credentials created for a rotation and left unused were revoked. */
  | { type: "credentials_revoked"; rotation: RotationRef; by: string; credentials: string[] }
  | {
      type: "rotation_completed";
      outage?: string | undefined;
      /** A compromise rotation's exposure window, in words, and in seconds for whoever reads the log. */
      exposure?: { text: string; seconds: number | undefined; proven: boolean } | undefined;
      rotation: RotationRef;
      minutes: number;
      commit: string | undefined;
      manifest: boolean;
      changelog: boolean;
      /** The manifest's owner, named in the completion line when the epilogue notified them. */
      owner?: { name: string | undefined; notified: boolean };
    }
  | { type: "owner_notified"; rotation: RotationRef; owner: string | undefined }
  | { type: "rotation_interrupted"; rotation: RotationRef; step: string | undefined };

export interface AuditDeps {
  /** Posts one HTML line to the audit chat (in order, rate-limited); absent on the shell. */
  post?: (html: string) => void;
  /** The hash-chained audit log; every event is appended before it is posted. */
  log: { append(event: unknown): void };
  logger: Logger;
}

/**
 * Routine progress: the hash-chained log and the live progress message hold it; the audit channel,
 * read on phones, gets decisions and outcomes only (start, answers and who gave them, failures,
 * refusals, abort, completion).
 */
const LOG_ONLY = [
  "step_ok",
  "owner_notified",
  "rotation_aborting",
  "rollback_step",
] as const satisfies readonly AuditEvent["type"][];
type ChannelEvent = Exclude<AuditEvent, { type: (typeof LOG_ONLY)[number] }>;
const isChannelEvent = (event: AuditEvent): event is ChannelEvent =>
  !(LOG_ONLY as readonly string[]).includes(event.type);

/**
 * Records audit events: every event in the hash-chained log and one structured log entry;
 * decisions and outcomes also as one line in the audit channel.
 */
export function createAudit({ post: initialPost, log, logger }: AuditDeps) {
  let post = initialPost;
  return {
    /** Sends every later event to the audit channel too (the bot attaches its poster once it exists). */
    attachChannel(channel: (html: string) => void): void {
      post = channel;
    },
    record(event: AuditEvent): void {
      try {
        log.append(event);
      } catch (error) {
        logger.error({ err: error }, "could not append to the audit log; check that STATE_DIR is writable");
      }
      logger.info({ audit: event }, `audit: ${event.type}`);
      if (isChannelEvent(event)) post?.(formatAuditLine(event));
    },
  };
}
export type Audit = ReturnType<typeof createAudit>;

/** One line per event, HTML-escaped; never contains a secret value because events carry none. */
export function formatAuditLine(event: ChannelEvent): string {
  switch (event.type) {
    case "bot_started":
      return `🤖 rotabot ${escapeHtml(event.version)} started: ${event.procedures} procedures from <code>${escapeHtml(event.runbookFile)}</code>${event.auditKey ? `; audit log keyed with key <code>${escapeHtml(event.auditKey.id)}</code>${event.auditKey.keyedFrom !== undefined ? ` from line ${event.auditKey.keyedFrom} on (the lines before are sha256-chained only)` : ""}` : "; audit log not keyed"}`;
    case "unauthorized":
      return `⛔ Refused: ${describeActor(event.actor)} tried <code>${escapeHtml(event.action)}</code> in ${describeChat(event.chat)}`;
    case "membership":
      return `👥 rotabot is now <b>${escapeHtml(event.status)}</b> in ${describeChat(event.chat)} (changed by ${describeActor(event.actor)})`;
    case "chat_unreachable":
      return `📵 ${escapeHtml(event.problem)}. Fix: ${escapeHtml(event.fix)}.`;
    case "rotation_started":
      return `${rot(event.rotation)} ▶️ started by ${escapeHtml(event.by)} in ${escapeHtml(event.environment)}${event.incident ? `, <b>incident</b>: ${escapeHtml(event.incident)}` : ""}${event.compromise ? `; 🚨 suspected compromise, exposed since ${escapeHtml(event.compromise.since)}${event.compromise.sinceGiven ? "" : " (the declaration)"}, ${escapeHtml(event.compromise.order)} order` : ""}${event.approver ? `; 👥 approver asked: ${escapeHtml(event.approver)}` : ""}`;
    case "rotation_refused":
      return `🚫 <code>${escapeHtml(event.key)}</code>: rotation by ${escapeHtml(event.by)} refused: ${escapeHtml(event.reason)}`;
    case "step_failed":
      return `${rot(event.rotation)} ❌ ${escapeHtml(event.step)} failed after ${event.seconds.toFixed(1)} s: ${escapeHtml(event.message)}`;
    case "answered":
      return `${rot(event.rotation)} 👆 ${escapeHtml(event.step)}: ${escapeHtml(event.answer)} by ${escapeHtml(event.by)}`;
    case "value_checked":
      return `${rot(event.rotation)} 🔑 ${escapeHtml(event.step)}: value ${escapeHtml(event.how)} by ${escapeHtml(event.by)}: ${event.refused === undefined ? "received and accepted" : `rejected: ${escapeHtml(event.refused)}`}`;
    case "press_refused":
      return `${rot(event.rotation)} ⛔ button press by ${describeActor(event.by)} refused: ${escapeHtml(event.reason)}`;
    case "plan_press_refused":
      return `⛔ ${event.key ? `<code>${escapeHtml(event.key)}</code>: ` : ""}${escapeHtml(event.button)} on the plan of ${escapeHtml(event.owner)} pressed by ${describeActor(event.by)}, refused: only ${escapeHtml(event.owner)} can press it`;
    case "secret_exposed":
      return `⚠️ ${escapeHtml(event.by)} sent ${escapeHtml(event.what)} in ${escapeHtml(event.chat)}; ${event.deleted ? "the message was deleted" : "rotabot could not delete it"}. It counts as exposed.`;
    case "break_glass":
      return `${rot(event.rotation)} 🚨 <b>break-glass</b>: ${escapeHtml(event.by)} alone ${escapeHtml(event.answer)} “${escapeHtml(event.step)}”, where the two-person rule asks for an approver. Reason: ${escapeHtml(event.reason)}`;
    case "prompt_expired":
      return `${rot(event.rotation)} ⌛ confirmation of “${escapeHtml(event.step)}” expired unanswered${event.approverLapsed ? `; ${escapeHtml(event.approverLapsed)}, the approver asked by name, did not answer: any approver may approve from now on (/resume)` : ""}`;
    case "rotation_aborted":
      return `${rot(event.rotation)} ⏹ ${escapeHtml(abortedLine(event.by, event.message))}`;
    case "rollback_failed":
      return `${rot(event.rotation)} ⚠️ ${escapeHtml(event.message)}`;
    case "credentials_revoked":
      return `${rot(event.rotation)} ✅ revoked, says ${escapeHtml(event.by)}: ${escapeHtml(event.credentials.join("; "))}`;
    case "rotation_completed":
      return `${rot(event.rotation)} 🏁 completed in ${event.minutes.toFixed(1)} min; manifest ${event.manifest ? "updated" : "NOT updated"}, CHANGELOG ${event.changelog ? "updated" : "NOT updated"}${event.commit ? `, commit <code>${escapeHtml(event.commit)}</code>` : ", no commit"}${event.outage ? `; ⏱ ${escapeHtml(event.outage)}` : ""}${event.exposure ? `; 🚨 ${escapeHtml(event.exposure.text)}` : ""}${event.owner?.notified ? `; ${ownerNotice(event.owner.name, event.rotation.key)}` : ""}`;
    case "rotation_interrupted":
      return `${rot(event.rotation)} ⚠️ interrupted${event.step ? ` during “${escapeHtml(event.step)}”` : ""} (rotabot stopped); resume with /resume ${escapeHtml(event.rotation.id)}`;
  }
}

function ownerNotice(owner: string | undefined, key: string): string {
  return `✉️ ${owner ? `${escapeHtml(owner)}: <code>${escapeHtml(key)}</code> was rotated` : "no owner in the manifest to notify"}`;
}

/** "aborted by @alice; …": the rotation's own message already starts with who aborted it. */
function abortedLine(by: string, message: string): string {
  const ownWords = `aborted by ${by}`;
  if (message.startsWith(ownWords)) return message;
  return message ? `${ownWords}: ${message}` : ownWords;
}

function rot(rotation: RotationRef): string {
  return `🔐 <code>${escapeHtml(rotation.key)}</code> [${escapeHtml(rotation.id)}]`;
}

function describeActor(actor: Actor): string {
  const handle = actor.username ? ` @${escapeHtml(actor.username)}` : "";
  return `${escapeHtml(actor.name)}${handle} (id <code>${escapeHtml(actor.id.replace(/^tg:/, ""))}</code>)`;
}

function describeChat(chat: ChatRef | undefined): string {
  if (!chat) return "an unknown chat";
  if (chat.type === "private") return "a private chat";
  return `${escapeHtml(chat.type)} “${escapeHtml(chat.title ?? "")}” (id <code>${chat.id}</code>)`;
}
