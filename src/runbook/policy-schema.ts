import { z } from "zod";
import { slug, text } from "../schema/fields.js";
import { parseInterval } from "../time/interval.js";

/** How often a category of secret is rotated, and on what else: the runbook's `policies` entries. */
export const policySchema = z
  .object({
    every: z
      .string()
      .nullable()
      .refine(
        (s) => s === null || parseInterval(s) !== undefined,
        'write an interval such as "6 months", or null for no schedule',
      ),
    also_on: z.array(text).default([]),
    only_when: text.optional(),
    note: text.optional(),
  })
  .strict();

/** The runbook's `policies:` section: category -> policy. */
export const policiesSchema = z.record(slug, policySchema);
export type Policies = z.infer<typeof policiesSchema>;
