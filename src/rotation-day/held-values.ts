import type { Step } from "../runbook/runbook-schema.js";
import { credentialEnding } from "../steps/collect.js";
import type { Day } from "./create-day-journal.js";
import type { DayItem } from "./plan-day.js";

type CollectStep = Extract<Step, { kind: "collect" }>;

/**
 * A credential made by hand that a rotation day asked for up front: held in the front end's
 * memory only (never in a file, the journal or the conversation storage) until its rotation's
 * collect step asks, after that rotation claimed the vault.
 */
export interface HeldValue {
  key: string;
  stepId: string;
  value: string;
  /** Its last 4 characters (of the credential part), the only part ever shown. */
  ending: string;
  /** What to do with it when its rotation never takes it (the runbook's revoke_if_unused, {ending} filled in). */
  revokeIfUnused?: string;
  used: boolean;
}

/** One credential a day can ask for before its first rotation: a collect step with no manual step before it. */
export interface UpFrontAsk {
  item: DayItem;
  step: CollectStep;
}

/** The credentials of a day's plan that can be asked for up front, in the plan's order. */
export function upFrontAsks(items: readonly DayItem[]): UpFrontAsk[] {
  return items.flatMap((item) =>
    item.hands
      .filter((hand) => hand.upFront)
      .flatMap((hand) => {
        const step = item.procedure.steps.find((s) => s.id === hand.stepId);
        return step?.kind === "collect" ? [{ item, step }] : [];
      }),
  );
}

/**
 * Checks a value against its step's format: held (not yet used) and taught to the redactor when
 * it looks right, otherwise the hint of what it should look like.
 */
export function holdValue(
  ask: UpFrontAsk,
  raw: string,
  redactor: { add(value: string): void },
): { held: HeldValue } | { refused: string } {
  const value = raw.trim();
  if (!new RegExp(ask.step.format.pattern).test(value)) return { refused: ask.step.format.hint };
  // Taught at once: from here on no log, card or error text can print it.
  if (value.length >= 6) redactor.add(value);
  const ending = credentialEnding(value, ask.step.format.pattern);
  return {
    held: {
      key: ask.item.key,
      stepId: ask.step.id,
      value,
      ending,
      used: false,
      ...(ask.step.revoke_if_unused
        ? { revokeIfUnused: ask.step.revoke_if_unused.replaceAll("{ending}", `…${ending}`) }
        : {}),
    },
  };
}

/** The held value that answers a rotation's collect step, if one is held and not used yet. */
export function heldFor(held: readonly HeldValue[], key: string, stepId: string): HeldValue | undefined {
  return held.find((h) => h.key === key && h.stepId === stepId && !h.used);
}

/** What to say of the held values no rotation took: each is a live credential someone must revoke. */
export function unusedHeldWarnings(
  held: readonly Pick<HeldValue, "key" | "ending" | "revokeIfUnused" | "used">[],
  by: string,
  why = "was not used",
): string[] {
  return held
    .filter((h) => !h.used && h.revokeIfUnused)
    .map((h) => `⚠ The value ${by} gave for ${h.key} (…${h.ending}) ${why}: ${h.revokeIfUnused}`);
}

/**
 * The values a day's journal says were kept up front and never given: a restart forgot them.
 * Returns what to say of each (to revoke; each is asked again at its turn) and takes them off the day.
 */
export function takeLostUpFront(day: Day): string[] {
  const lost = day.entries.flatMap((entry) => {
    const held = entry.heldUpFront;
    if (!held || held.given) return [];
    delete entry.heldUpFront;
    return [{ key: entry.key, used: false, ...held }];
  });
  return unusedHeldWarnings(
    lost,
    day.initiator.name,
    "was lost in a restart of rotabot (it is asked again at its turn)",
  );
}
