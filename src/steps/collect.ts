import { z } from "zod";
import { formatSchema, stepBase, text } from "../schema/fields.js";
import { newKeyOf } from "../model/new-key.js";
import type { Actor, Rotation } from "../model/rotation.js";
import { defineStep, type StepDeps } from "./step-kind.js";

/** The operator supplies a value issued elsewhere (BotFather, SignalWire, Sentry), in a private chat or without echo. */
export const collectStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("collect"),
      prompt: text,
      format: formatSchema,
      /**
       * The operator creates this value outside rotabot (a PAT, a DSN key): what to do with one
       * the rotation leaves unused (aborted, or replaced by another value), `{ending}` standing for
       * its last 4 characters. Listed at the abort, in /status until someone says revoked.
       */
      revoke_if_unused: text
        .refine((t) => t.includes("{ending}"), "name the credential by {ending} (its last 4 characters)")
        .optional(),
      /**
       * What to do with a value that was exposed before rotabot took it (pasted in the group, not
       * in the private chat): it was not stored, but it is live where it was made. `{ending}`
       * stands for its last 4 characters. Without it the operator is told to get another value.
       */
      if_exposed: text.optional(),
    })
    .strict(),
  {
    phase: "procedure",
    idempotent: false,
    scope: "once",
    changesServices: false,
    interaction: "collect",
    prompt: (step) => step.prompt,
    describe: () => undefined,
    // The value was taken by takeCollectedValue when the operator answered.
    execute: () => Promise.resolve({ status: "done" }),
  },
);
type CollectStep = z.output<typeof collectStep.schema>;

/**
 * The last 4 characters of the credential itself: of the pattern's `(?<credential>…)` group when
 * it has one (a DSN ends in its project id, which is no secret and names nothing), else of the value.
 */
export function credentialEnding(value: string, pattern: string | undefined): string {
  const part = pattern === undefined ? undefined : new RegExp(pattern).exec(value)?.groups?.credential;
  return (part ?? value).slice(-4);
}

/** credentialEnding with the format of the procedure's collect step, if it has one. */
export function endingIn(procedure: { steps: readonly { kind: string }[] }, value: string): string {
  const collect = procedure.steps.find((s): s is CollectStep => s.kind === "collect");
  return credentialEnding(value, collect?.format.pattern);
}

export type CollectOutcome =
  /** Stored (or found) under `<key>_new`; the note names who gave it and its last 4 characters. */
  | { ok: true; note: string; ending: string }
  /**
   * Nothing stored: ask again with this prompt; `reason` says why in a few words (for the ops chat
   * and the audit); `ending` is set when the value passed its format check (a credential was created).
   */
  | { ok: false; prompt: string; reason: string; ending?: string };

/**
 * An answer to a collect step: a pasted value is format-checked and written to the vault as
 * `<key>_new`; "I added it myself" is checked in the vault. A value that passed the format check
 * goes to the redactor before it is stored, so nothing can print it afterwards; a refused one is
 * not learned (ordinary words typed by mistake must not become "secrets") and is never printed.
 * No value enters the outcome.
 */
export async function takeCollectedValue(
  {
    rotation,
    step,
    value: pasted,
    actor,
  }: {
    rotation: Pick<Rotation, "id" | "key" | "initiator" | "incident">;
    step: CollectStep;
    value: string | undefined;
    actor: Actor;
  },
  { vault, redactor, claimVault }: Pick<StepDeps, "vault" | "redactor" | "claimVault">,
): Promise<CollectOutcome> {
  const { key } = rotation;
  let value: string | undefined;
  if (pasted !== undefined) {
    value = pasted.trim();
  } else {
    const read = await vault.read(newKeyOf(key));
    value = read.ok ? read.value : undefined;
    if (value === undefined) {
      return {
        ok: false,
        reason: `${newKeyOf(key)} is not in the vault yet`,
        prompt: `${newKeyOf(key)} is not in the vault yet. Add it with ansible-vault edit, or paste the value here.\n\n${step.prompt}`,
      };
    }
  }
  if (!new RegExp(step.format.pattern).test(value)) {
    return {
      ok: false,
      reason: `it does not look like ${step.format.hint}`,
      prompt: `That does not look like ${step.format.hint}. Nothing was stored. ${step.prompt}`,
    };
  }
  // The value in use now is no new one: a later revoke step would revoke the token in use.
  const current = await vault.read(key);
  if (!current.ok)
    return { ok: false, reason: "it could not be checked", prompt: `Could not check it: ${current.message}` };
  if (current.value === value) {
    return {
      ok: false,
      reason: "it is the value in use now, not a new one",
      prompt:
        pasted !== undefined
          ? `That is the value ${key} holds now, not a new one. Nothing was stored. ${step.prompt}`
          : `${newKeyOf(key)} holds the value in use now, not a new one. Put a new value there with ansible-vault edit, or paste one here.\n\n${step.prompt}`,
    };
  }
  if (value.length >= 6) redactor.add(value);
  const ending = credentialEnding(value, step.format.pattern);
  // Stored (or added by hand), the value is this rotation's change to the shared vault.
  const claim = await claimVault(rotation);
  if (!claim.ok)
    return {
      ok: false,
      reason: "another rotation has changed the vault",
      prompt: `${claim.message.charAt(0).toUpperCase()}${claim.message.slice(1)}. Nothing was stored. ${step.prompt}`,
      ending,
    };
  if (pasted !== undefined) {
    const added = await vault.addNew(key, value, { replace: true });
    if (!added.ok)
      return { ok: false, reason: "it could not be stored", prompt: `Could not store it: ${added.message}`, ending };
  }
  const how = pasted !== undefined ? `received from ${actor.name}` : `added to the vault by ${actor.name}`;
  return { ok: true, note: `${how}, ends in …${ending}`, ending };
}
