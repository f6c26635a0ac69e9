import type { Context, MiddlewareFn } from "grammy";
import type { Message } from "grammy/types";
import type { RotationEngine } from "../../rotation/create-rotation-engine.js";
import { telegramActor } from "../../telegram/telegram-actor.js";
import type { OpenRequest, RotationPresenter } from "./create-rotation-presenter.js";

const ROTATION_IDS = /\brotation (\d{8}-\d{4}-[0-9a-f]{4})\b/g;

/**
 * Which request a value answers, by the message it replies to first: one of the open requests,
 * a request (or any message of rotabot's that names one rotation) whose rotation no longer waits
 * for a value, or nothing said (not a reply, or a reply to something else).
 */
function routeByReply(
  repliedTo: Message | undefined,
  botId: number,
  open: readonly OpenRequest[],
): { open: OpenRequest } | { closed: string } | undefined {
  if (!repliedTo) return undefined;
  const request = open.find((r) => r.messageId !== undefined && r.messageId === repliedTo.message_id);
  if (request) return { open: request };
  if (repliedTo.from?.id !== botId) return undefined;
  const named = [...new Set([...(repliedTo.text ?? "").matchAll(ROTATION_IDS)].map((m) => m[1]!))];
  if (named.length !== 1) return undefined;
  const same = open.find((r) => r.rotationId === named[0]);
  return same ? { open: same } : { closed: named[0]! };
}

/**
 * Installed before conversations: a private message from an operator whose rotation waits for
 * a token is taken out of the update at once (stored in the vault as `<key>_new`, the message
 * deleted, the text replaced), so the value never reaches conversation storage, logs or replies.
 * The message it replies to decides which rotation it is for; a reply to a request that is
 * closed is refused and deleted, never stored for another rotation. Without a reply, the only
 * open request takes it.
 */
export function createSecretIntake({
  engine,
  presenter,
}: {
  engine: RotationEngine;
  presenter: RotationPresenter;
}): MiddlewareFn<Context> {
  return async (ctx, next) => {
    const text = ctx.message?.text;
    const user = ctx.from;
    if (ctx.chat?.type !== "private" || text === undefined || !user || text.startsWith("/")) return next();
    const open = presenter.openRequests(user.id);
    const route = routeByReply(ctx.message?.reply_to_message, ctx.me.id, open);
    if (open.length === 0 && !route) return next();
    // The engine teaches the redactor the value once it passed the format check. Until then it is
    // printed nowhere: the update's text is replaced and the message deleted right here.
    const value = text.trim();
    ctx.message!.text = "[secret taken by rotabot]";
    await ctx.deleteMessage().catch(() => undefined);
    if (route && "closed" in route) {
      const rotation = await engine.get(route.closed);
      const which = rotation ? `rotation ${route.closed} of ${rotation.key}` : `rotation ${route.closed}`;
      const state =
        rotation?.state === "aborted" || rotation?.state === "completed" ? ` (it was ${rotation.state})` : "";
      await ctx.reply(
        `Nothing was stored: you replied to the request of ${which}${state}, which no longer waits for a value. Your message was deleted. If the value is a live credential, revoke it where it was issued${open.length > 0 ? `; to answer an open request, reply to that request (${open.map((r) => `${r.key} for rotation ${r.rotationId}`).join(", ")})` : ""}.`,
      );
      return;
    }
    const pending = route?.open ?? (open.length === 1 ? open[0] : undefined);
    if (!pending) {
      await ctx.reply(
        `Nothing was stored: I am waiting for ${open.length} values from you (${open.map((r) => `${r.key} for rotation ${r.rotationId}`).join(", ")}) and cannot tell which one this is. Send it again as a reply to my request for that secret.`,
      );
      return;
    }
    const result = await engine.respond(
      pending.rotationId,
      pending.nonce,
      { type: "collect", value },
      telegramActor(user),
    );
    if (!result.ok) {
      await ctx.reply(`Nothing was stored: ${result.message}`);
      return;
    }
    const step = result.rotation.steps.find((s) => s.kind === "collect" && s.state === "done");
    if (step)
      await ctx.reply(
        `🔐 Stored in the vault as ${pending.key}_new (${step.message?.replace(/^.*, /, "") ?? "received"}). Your message was deleted. Progress continues in the ops chat.`,
      );
  };
}
