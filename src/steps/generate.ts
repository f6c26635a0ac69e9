import { randomInt } from "node:crypto";
import { z } from "zod";
import { stepBase } from "../schema/fields.js";
import { newKeyOf } from "../model/new-key.js";
import { defineStep } from "./step-kind.js";

const ALPHABETS = {
  alphanumeric: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
  hex: "0123456789abcdef",
  urlsafe: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
} as const;

/** A random secret from node:crypto, ASCII only (PostgreSQL's SCRAM needs no SASLprep then). */
export function generateSecret(length: number, alphabet: keyof typeof ALPHABETS): string {
  const chars = ALPHABETS[alphabet];
  return Array.from({ length }, () => chars[randomInt(chars.length)]).join("");
}

/** Generates the new value straight into the vault as `<key>_new` (the vault is its only resting place). */
export const generateStep = defineStep(
  z
    .object({
      ...stepBase,
      kind: z.literal("generate"),
      length: z.number().int().min(24, "generated secrets have at least 24 characters").max(256).default(32),
      alphabet: z.enum(["alphanumeric", "hex", "urlsafe"]).default("alphanumeric"),
    })
    .strict(),
  {
    phase: "procedure",
    idempotent: true,
    scope: "once",
    changesServices: false,
    interaction: "automatic",
    describe: (step) => `${step.length} random characters (${step.alphabet}) from node:crypto`,
    async execute(step, run, deps) {
      const key = run.rotation.key;
      const existing = await deps.vault.read(newKeyOf(key));
      if (!existing.ok) return { status: "failed", message: existing.message };
      if (existing.value !== undefined) return { status: "skipped", note: `${newKeyOf(key)} is already in the vault` };
      const claim = await deps.claimVault(run.rotation);
      if (!claim.ok) return { status: "failed", message: claim.message };
      const value = generateSecret(step.length, step.alphabet);
      deps.redactor.add(value);
      const added = await deps.vault.addNew(key, value);
      return added.ok
        ? { status: "done", note: `generated ${step.length} characters (${step.alphabet}) into ${newKeyOf(key)}` }
        : { status: "failed", message: added.message };
    },
  },
);
