import type { ConversationFlavor } from "@grammyjs/conversations";
import { Composer, type Context } from "grammy";
import { ROTATE_CONVERSATION } from "../../../conversations/rotate.js";
import { BUTTON_PATTERNS } from "../protocol/button-codec.js";

/** The digest's Rotate buttons open the same plan dialog as `/rotate <key>`, for whoever presses. */
export function createDigestButtons(opsChatId: number): Composer<ConversationFlavor<Context>> {
  const composer = new Composer<ConversationFlavor<Context>>();
  composer.callbackQuery(BUTTON_PATTERNS.due, async (ctx) => {
    if (ctx.chat?.id !== opsChatId) {
      await ctx.answerCallbackQuery({ text: "Start rotations in the ops chat.", show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery();
    await ctx.conversation.exitAll();
    await ctx.conversation.enter(ROTATE_CONVERSATION, ctx.match[1]!, "");
  });
  return composer;
}
