import { z } from "zod";
import { parseInterval } from "../time/interval.js";
import { commandFields, slug, stepBase, text, vaultKey } from "../schema/fields.js";
import {
  epilogueStepSchema,
  procedureStepSchema,
  type EpilogueStep,
  type ProcedureStep,
} from "../rotation/steps/registry.js";

export { ARGV_PLACEHOLDERS, SECRET_PLACEHOLDERS } from "../schema/fields.js";
export type { BuiltinCheck } from "../checks/registry.js";
export type Step = ProcedureStep;
export type { EpilogueStep };
export type StepKind = Step["kind"];

const policySchema = z
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

const procedureSchema = z
  .object({
    id: slug,
    title: text,
    category: slug,
    /** One vault key, or every manifest key of `category` (the general procedure for API tokens). */
    secret: vaultKey.optional(),
    applies_to_category: z.literal(true).optional(),
    aliases: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "aliases are lowercase words")).default([]),
    summary: text.optional(),
    steps: z.array(procedureStepSchema).min(1),
    rollback: z.array(z.object({ ...stepBase, kind: z.literal("run"), ...commandFields }).strict()).default([]),
  })
  .strict()
  .refine((p) => (p.secret === undefined) !== (p.applies_to_category === undefined), {
    message: "a procedure names exactly one of `secret: vault_<key>` or `applies_to_category: true`",
  });
export type Procedure = z.infer<typeof procedureSchema>;

export const runbookSchema = z
  .object({
    version: z.literal(1),
    files: z
      .object({ vault: text, manifest: text, changelog: text.default("CHANGELOG.md"), helper_runbook: text.optional() })
      .strict(),
    deploy_guard: z
      .object({ ...commandFields, title: text.default("No deploy is running") })
      .strict()
      .optional(),
    policies: z.record(slug, policySchema),
    procedures: z.array(procedureSchema).min(1),
    epilogue: z.array(epilogueStepSchema).default([]),
  })
  .strict()
  .superRefine((runbook, ctx) => {
    const seenNames = new Map<string, number>();
    const seenIds = new Set<string>();
    runbook.procedures.forEach((procedure, index) => {
      if (seenIds.has(procedure.id))
        ctx.addIssue({
          code: "custom",
          path: ["procedures", index, "id"],
          message: `duplicate procedure id "${procedure.id}"`,
        });
      seenIds.add(procedure.id);
      if (!(procedure.category in runbook.policies)) {
        ctx.addIssue({
          code: "custom",
          path: ["procedures", index, "category"],
          message: `category "${procedure.category}" has no entry under policies; add it there`,
        });
      }
      for (const name of [procedure.id, ...procedure.aliases, ...(procedure.secret ? [procedure.secret] : [])]) {
        const other = seenNames.get(name);
        if (other !== undefined && other !== index) {
          ctx.addIssue({
            code: "custom",
            path: ["procedures", index, "aliases"],
            message: `"${name}" already names procedure ${runbook.procedures[other]!.id}`,
          });
        }
        seenNames.set(name, index);
      }
      const stepIds = new Set<string>();
      procedure.steps.forEach((step, stepIndex) => {
        if (stepIds.has(step.id))
          ctx.addIssue({
            code: "custom",
            path: ["procedures", index, "steps", stepIndex, "id"],
            message: `duplicate step id "${step.id}"`,
          });
        stepIds.add(step.id);
      });
      const kinds = procedure.steps.map((s) => s.kind);
      if (!kinds.includes("vault_add_new")) {
        ctx.addIssue({
          code: "custom",
          path: ["procedures", index, "steps"],
          message: "every procedure adds the new value to the vault: add a `vault_add_new` step",
        });
      }
      if (!kinds.includes("generate") && !kinds.includes("collect")) {
        ctx.addIssue({
          code: "custom",
          path: ["procedures", index, "steps"],
          message: "add a `generate` or `collect` step that produces the new value",
        });
      }
      if (
        procedure.applies_to_category &&
        runbook.procedures.some((p, i) => i < index && p.applies_to_category && p.category === procedure.category)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["procedures", index, "category"],
          message: `another procedure already applies to category "${procedure.category}"`,
        });
      }
    });
  });

export type Runbook = z.infer<typeof runbookSchema>;
export type Policy = Runbook["policies"][string];
