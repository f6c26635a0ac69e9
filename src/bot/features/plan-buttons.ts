import { Composer, type Context } from "grammy";
import type { OpenPlans, PlanCard } from "../../../conversations/rotate.js";
import { BUTTON_PATTERNS } from "../protocol/button-codec.js";
import type { Audit } from "../../audit/create-audit.js";
import { telegramActor } from "../../telegram/telegram-actor.js";

interface OpenPlan {
  ownerId: number;
  owner: string;
  key: string | undefined;
  at: number;
  /** Its card while it still waits for Start or Cancel. */
  card?: PlanCard;
}

/** Plans expire after 15 minutes; who asked for one is kept a while longer to answer late presses. */
const KEEP_MS = 60 * 60_000;

/**
 * The plans shown lately, who asked for each, and the cards still waiting for a press (in memory:
 * after a restart a press is answered without the name, and an older card is not replaced).
 */
export function createOpenPlans(now: () => number = Date.now) {
  const plans = new Map<string, OpenPlan>();
  return {
    open(nonce: string, plan: Omit<OpenPlan, "at" | "card">): void {
      for (const [old, p] of plans) if (now() - p.at > KEEP_MS) plans.delete(old);
      plans.set(nonce, { ...plan, at: now() });
    },
    shown(nonce: string, card: PlanCard): PlanCard[] {
      const plan = plans.get(nonce);
      if (!plan) return [];
      const replaced: PlanCard[] = [];
      for (const [other, p] of plans)
        if (other !== nonce && p.ownerId === plan.ownerId && p.card) {
          replaced.push(p.card);
          delete p.card;
        }
      plan.card = card;
      return replaced;
    },
    settled(nonce: string): void {
      const plan = plans.get(nonce);
      if (plan) delete plan.card;
    },
    get: (nonce: string) => plans.get(nonce),
  } satisfies OpenPlans & { get: unknown };
}
export type OpenPlanRegistry = ReturnType<typeof createOpenPlans>;

const BUTTONS = { start: "▶️ Start", cancel: "✖️ Cancel", pick: "a secret choice" } as const;

/**
 * A plan's buttons pressed by someone its dialog is not waiting for. Each operator's dialog sees
 * only their own presses, so another operator's press lands here: say who may press it, and
 * audit the attempt like every other refused press. The owner's own press lands here only when
 * the plan expired.
 */
export function createPlanButtons({ plans, audit }: { plans: OpenPlanRegistry; audit: Audit }): Composer<Context> {
  const composer = new Composer<Context>();
  const refuse = async (ctx: Context, nonce: string, ownerId: number | undefined, button: keyof typeof BUTTONS) => {
    const plan = plans.get(nonce);
    const key = plan?.key;
    if (ownerId === ctx.from!.id) {
      await ctx.answerCallbackQuery({
        text: `This plan has expired. Send /rotate${key ? ` ${key}` : ""} for a fresh one.`,
        show_alert: true,
      });
      return;
    }
    const owner = plan?.owner ?? `Telegram user ${ownerId}`;
    await ctx.answerCallbackQuery({
      text: `Only ${owner}, who asked for this plan, can press its buttons. ${key ? `To rotate ${key} yourself, send /rotate ${key}.` : "Send /rotate for a plan of your own."}`,
      show_alert: true,
    });
    audit.record({ type: "plan_press_refused", key, by: telegramActor(ctx.from!), owner, button: BUTTONS[button] });
  };
  composer.callbackQuery(BUTTON_PATTERNS.plan, (ctx) =>
    refuse(ctx, ctx.match[1]!, Number(ctx.match[2]), ctx.match[3] as "start" | "cancel"),
  );
  composer.callbackQuery(BUTTON_PATTERNS.pick, async (ctx, next) => {
    // The owner's own press reaches here only when it is stale or forged: the catch-all answers it.
    const plan = plans.get(ctx.match[1]!);
    if (!plan || plan.ownerId === ctx.from.id) return next();
    await refuse(ctx, ctx.match[1]!, plan.ownerId, "pick");
  });
  return composer;
}
