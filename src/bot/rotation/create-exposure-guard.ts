import type { Context, MiddlewareFn } from "grammy";
import type { Audit } from "../../audit/create-audit.js";
import type { Redactor } from "../../logging/redactor.js";
import type { RotationEngine } from "../../rotation/create-rotation-engine.js";
import type { UpFrontAsk } from "../../rotation-day/held-values.js";
import type { Runbook } from "../../runbook/runbook-schema.js";
import { telegramActor } from "../../telegram/telegram-actor.js";
import type { RotationPresenter } from "./create-rotation-presenter.js";
import { credentialEnding } from "../../steps/collect.js";
import { credentialIn } from "./looks-like-credential.js";

export interface ExposureGuardDeps {
  runbook: Runbook;
  engine: RotationEngine;
  presenter: RotationPresenter;
  redactor: Redactor;
  audit: Audit;
  /**
   * Reads the vault, which teaches the redactor its values (decrypted again only when the file
   * changed): a value added while rotabot runs is known before a message is checked against it.
   */
  learnVaultValues: () => Promise<unknown>;
  /** The credential a rotation day asks this user for now, if any (DayIntake.waitingFor). */
  dayWaitingFor?: (userId: number) => UpFrontAsk | undefined;
}

/**
 * Installed after the private token intake, before conversations and commands: a message that
 * holds a secret is stopped there, so it reaches no command, conversation storage, reply or log.
 * A vault value (or the bot's token) typed anywhere, a value pasted in the group while rotabot
 * waits for it privately, or anything that looks like a credential sent privately with no
 * request open: the message is deleted where the bot may, the sender is told the value is
 * exposed and what to do, and the audit says so (never the value).
 */
export function createExposureGuard({
  runbook,
  engine,
  presenter,
  redactor,
  audit,
  learnVaultValues,
  dayWaitingFor,
}: ExposureGuardDeps): MiddlewareFn<Context> {
  /** The user's open token request whose format one of `words` has, if any: its key, and what to do now the value is exposed. */
  const pendingFormatIn = async (userId: number, words: string[]) => {
    // A rotation day's question for a credential made by hand counts as a request too.
    const day = dayWaitingFor?.(userId);
    const dayValue = day && words.find((w) => new RegExp(day.step.format.pattern).test(w));
    if (day && dayValue !== undefined) {
      const ending = credentialEnding(dayValue, day.step.format.pattern);
      return {
        key: day.item.key,
        todo: day.step.if_exposed?.replaceAll("{ending}", `…${ending}`) ?? "get another value",
      };
    }
    for (const pending of presenter.openRequests(userId)) {
      const rotation = await engine.get(pending.rotationId);
      const procedure = rotation && runbook.procedures.find((p) => p.id === rotation.procedureId);
      const step = procedure?.steps.find((s) => s.kind === "collect" && s.id === rotation?.awaiting?.stepId);
      if (step?.kind !== "collect") continue;
      const value = words.find((w) => new RegExp(step.format.pattern).test(w));
      if (value === undefined) continue;
      const ending = credentialEnding(value, step.format.pattern);
      return {
        key: pending.key,
        todo: step.if_exposed?.replaceAll("{ending}", `…${ending}`) ?? "get another value",
      };
    }
    return undefined;
  };

  return async (ctx, next) => {
    const text = ctx.message?.text ?? ctx.message?.caption;
    const user = ctx.from;
    if (text === undefined || !user || !ctx.chat) return next();
    const words = text.split(/\s+/).filter(Boolean);
    const inPrivate = ctx.chat.type === "private";
    let what: string | undefined;
    let advice: string;
    const credential = inPrivate && !text.startsWith("/") ? credentialIn(text) : undefined;
    await learnVaultValues().catch(() => undefined);
    if (redactor.redact(text) !== text) {
      what = "a secret rotabot knows (a vault value or a bot token)";
      advice =
        "Treat it as compromised: rotate it in compromise mode, which refuses the old value first (/rotate <name> compromised <reason>; /age lists the names).";
    } else {
      const pending = inPrivate ? undefined : await pendingFormatIn(user.id, words);
      if (pending) {
        what = `the new value of ${pending.key}`;
        advice = `It was not stored: it is exposed to everyone in this chat, so do not use it: ${pending.todo}. Send the new one to me in our private chat, where I take it in and delete it.`;
      } else if (credential) {
        what = credential;
        advice =
          "No rotation was waiting for a value from you, so nothing was stored. If it is a real secret, treat it as exposed to this chat's history: rotate it. When a rotation asks for a token, I ask here first.";
      } else {
        return next();
      }
    }
    const deleted = await ctx.deleteMessage().then(
      () => true,
      () => false,
    );
    const actor = telegramActor(user);
    audit.record({
      type: "secret_exposed",
      by: actor.name,
      chat: inPrivate
        ? "a private chat"
        : `${ctx.chat.type} ${"title" in ctx.chat ? (ctx.chat.title ?? "") : ""}`.trim(),
      what,
      deleted,
    });
    await ctx.reply(
      `⚠️ Your message held ${what}. ${deleted ? `I deleted it. ${advice}` : `I could not delete it (I am no admin here). ${advice} Delete your message now.`}`,
    );
  };
}
