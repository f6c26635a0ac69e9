import type { Context, MiddlewareFn } from "grammy";
import type { RotationEngine } from "../../rotation/create-rotation-engine.js";
import { telegramActor } from "../../telegram/telegram-actor.js";
import type { RotationPresenter } from "./create-rotation-presenter.js";

/**
 * Installed before conversations: a private message from an operator whose rotation waits for
 * a token is taken out of the update at once (stored in the vault as `<key>_new`, the message
 * deleted, the text replaced), so the value never reaches conversation storage, logs or replies.
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
    if (open.length === 0) return next();
    // With requests of several rotations open, the value must say which it is for: a reply to one.
    const repliedTo = ctx.message?.reply_to_message?.message_id;
    const pending =
      open.length === 1 ? open[0] : open.find((r) => r.messageId !== undefined && r.messageId === repliedTo);
    // The engine teaches the redactor the value once it passed the format check. Until then it is
    // printed nowhere: the update's text is replaced and the message deleted right here.
    const value = text.trim();
    ctx.message!.text = "[secret taken by rotabot]";
    await ctx.deleteMessage().catch(() => undefined);
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
