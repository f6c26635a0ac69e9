import { z } from "zod";
import { parseInterval } from "../age/interval.js";
import { parseDuration } from "./duration.js";

/** Placeholders allowed in argv: none of them is a secret value. */
export const ARGV_PLACEHOLDERS = [
  "vault_password_file",
  "infra_dir",
  "secret_key",
  "new_key",
  "rotation_id",
  "state_dir",
] as const;
/** Placeholders that expand to secret values: allowed only in a step's `env` or `stdin`. */
export const SECRET_PLACEHOLDERS = ["new_value", "old_value"] as const;
const PLACEHOLDER = /\{([a-z_]+)\}/g;

const slug = z.string().regex(/^[a-z][a-z0-9_-]{0,40}$/, "use lowercase letters, digits, _ and - (max 41 characters)");
const vaultKey = z.string().regex(/^vault_[a-z0-9_]+$/, "vault keys look like vault_<name> (lowercase, digits, _)");
const text = z.string().trim().min(1);
const duration = z.string().refine((s) => parseDuration(s) !== undefined, "write a duration such as 30s, 10m or 1h");

function placeholdersIn(value: string): string[] {
  return [...value.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

const argvSchema = z
  .array(z.string().min(1))
  .min(1)
  .superRefine((argv, ctx) => {
    argv.forEach((arg, i) => {
      for (const name of placeholdersIn(arg)) {
        if ((SECRET_PLACEHOLDERS as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: "custom",
            path: [i],
            message: `{${name}} is a secret value and may not appear in argv (other processes can read argv); pass it through the step's env or stdin`,
          });
        } else if (!(ARGV_PLACEHOLDERS as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: "custom",
            path: [i],
            message: `unknown placeholder {${name}}; argv may use ${ARGV_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
          });
        }
      }
    });
  });

const allPlaceholders = [...ARGV_PLACEHOLDERS, ...SECRET_PLACEHOLDERS] as readonly string[];
const withKnownPlaceholders = z.string().superRefine((value, ctx) => {
  for (const name of placeholdersIn(value)) {
    if (!allPlaceholders.includes(name)) ctx.addIssue({ code: "custom", message: `unknown placeholder {${name}}` });
  }
});

/** A command: argv without a shell; secret values only by env or stdin. */
const commandFields = {
  argv: argvSchema,
  env: z
    .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "environment names are UPPER_CASE"), withKnownPlaceholders)
    .optional(),
  stdin: withKnownPlaceholders.optional(),
  timeout: duration.default("10m"),
};

/** Which value of the secret a built-in uses: the `<key>_new` being rolled out or the canonical one. */
const whichValue = z.enum(["new", "current"]).default("new");

const postgresTarget = {
  role: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  database: z.string().min(1),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
};

const builtinCheck = z.discriminatedUnion("builtin", [
  z.object({ builtin: z.literal("postgres_login"), ...postgresTarget, use: whichValue }).strict(),
  z.object({ builtin: z.literal("postgres_old_sessions_gone"), ...postgresTarget }).strict(),
  z.object({ builtin: z.literal("telegram_same_bot") }).strict(),
  z.object({ builtin: z.literal("telegram_test_alert"), text }).strict(),
  z.object({ builtin: z.literal("telegram_old_token_revoked") }).strict(),
  z
    .object({
      builtin: z.literal("nats_stream_health"),
      stream: z.string().min(1),
      consumer: z.string().min(1),
      server: z.string().min(1).optional(),
      user: z.string().min(1).optional(),
      use: whichValue,
    })
    .strict(),
]);
export type BuiltinCheck = z.infer<typeof builtinCheck>;

const stepBase = {
  id: slug,
  title: text,
  /** Marks the point of no return: confirmation first, no rollback after. */
  destructive: z.boolean().default(false),
  /** Safe to run again after an interruption. */
  idempotent: z.boolean().optional(),
  /** The seed runbook's own words or command for this step, shown in the plan. */
  seed: z.string().optional(),
  note: z.string().optional(),
};

const formatSchema = z
  .object({
    pattern: z.string().refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, "not a valid regular expression"),
    hint: text,
  })
  .strict();

export const STEP_KINDS = [
  "generate",
  "collect",
  "vault_add_new",
  "run",
  "verify",
  "manual",
  "confirm",
  "vault_promote",
  "wait_drain",
  "postgres_set_password",
  "nats_reload",
] as const satisfies readonly string[];

const stepSchema = z.discriminatedUnion("kind", [
  z
    .object({
      ...stepBase,
      kind: z.literal("generate"),
      length: z.number().int().min(24, "generated secrets have at least 24 characters").max(256).default(32),
      alphabet: z.enum(["alphanumeric", "hex", "urlsafe"]).default("alphanumeric"),
    })
    .strict(),
  z.object({ ...stepBase, kind: z.literal("collect"), prompt: text, format: formatSchema }).strict(),
  z.object({ ...stepBase, kind: z.literal("vault_add_new") }).strict(),
  z.object({ ...stepBase, kind: z.literal("run"), ...commandFields }).strict(),
  z
    .object({
      ...stepBase,
      kind: z.literal("verify"),
      ...commandFields,
      argv: argvSchema.optional(),
      check: builtinCheck.optional(),
    })
    .strict()
    .refine((step) => (step.argv === undefined) !== (step.check === undefined), {
      message: "a verify step has exactly one of `argv` (a command that must exit 0) or `check` (a built-in check)",
    }),
  z.object({ ...stepBase, kind: z.literal("manual"), instruction: text, check: builtinCheck.optional() }).strict(),
  z.object({ ...stepBase, kind: z.literal("confirm"), message: text }).strict(),
  z.object({ ...stepBase, kind: z.literal("vault_promote") }).strict(),
  z
    .object({
      ...stepBase,
      kind: z.literal("wait_drain"),
      check: builtinCheck,
      timeout: duration.default("30m"),
      interval: duration.default("15s"),
    })
    .strict(),
  z.object({ ...stepBase, kind: z.literal("postgres_set_password"), ...postgresTarget }).strict(),
  z
    .object({
      ...stepBase,
      kind: z.literal("nats_reload"),
      config_test: argvSchema,
      reload: argvSchema,
      monitor_url: z.string().url().optional(),
    })
    .strict(),
]);
export type Step = z.infer<typeof stepSchema>;
export type StepKind = Step["kind"];

const epilogueStep = z.discriminatedUnion("kind", [
  z.object({ ...stepBase, kind: z.literal("run"), ...commandFields }).strict(),
  z.object({ ...stepBase, kind: z.literal("manifest_update") }).strict(),
  z.object({ ...stepBase, kind: z.literal("changelog_update") }).strict(),
  z.object({ ...stepBase, kind: z.literal("git_commit"), push: z.boolean().default(false) }).strict(),
  z.object({ ...stepBase, kind: z.literal("notify_owner") }).strict(),
]);
export type EpilogueStep = z.infer<typeof epilogueStep>;

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
    steps: z.array(stepSchema).min(1),
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
    epilogue: z.array(epilogueStep).default([]),
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
