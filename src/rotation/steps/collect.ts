import { z } from "zod";
import { formatSchema, stepBase, text } from "../../schema/fields.js";
import { newKeyOf } from "../../vault/create-vault.js";
import type { Actor, Rotation } from "../model.js";
import { defineStep, type StepDeps } from "./step-kind.js";
import { credentialEnding } from "../../vault/credential-ending.js";

/** The operator supplies a value issued elsewhere (BotFather, SignalWire, Sentry), in a private chat or without echo. */
export const collectStep = defineStep(
  z.object({ ...stepBase, kind: z.literal("collect"), prompt: text, format: formatSchema }).strict(),
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

export type CollectOutcome =
  /** Stored (or found) under `<key>_new`; the note names who gave it and its last 4 characters. */
  | { ok: true; note: string; ending: string }
  /** Nothing stored: ask again with this prompt; `reason` says why in a few words (for the ops chat and the audit). */
  | { ok: false; prompt: string; reason: string };

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
  // Stored (or added by hand), the value is this rotation's change to the shared vault.
  const claim = await claimVault(rotation);
  if (!claim.ok)
    return {
      ok: false,
      reason: "another rotation has changed the vault",
      prompt: `${claim.message.charAt(0).toUpperCase()}${claim.message.slice(1)}. Nothing was stored. ${step.prompt}`,
    };
  if (pasted !== undefined) {
    const added = await vault.addNew(key, value, { replace: true });
    if (!added.ok)
      return { ok: false, reason: "it could not be stored", prompt: `Could not store it: ${added.message}` };
  }
  const how = pasted !== undefined ? `received from ${actor.name}` : `added to the vault by ${actor.name}`;
  const ending = credentialEnding(value);
  return { ok: true, note: `${how}, ends in …${ending}`, ending };
}
