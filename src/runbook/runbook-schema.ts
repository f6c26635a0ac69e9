import { z } from "zod";
import path from "node:path";
import { commandFields, envRecord, slug, text, vaultKey } from "../schema/fields.js";
import { policiesSchema } from "./policy-schema.js";
import {
  epilogueStepSchema,
  kindOf,
  procedureStepSchema,
  rollbackStepSchema,
  type AnyStep,
  type EpilogueStep,
  type ProcedureStep,
} from "../steps/registry.js";

export { ARGV_PLACEHOLDERS, SECRET_PLACEHOLDERS } from "../schema/fields.js";
export type { BuiltinCheck } from "../checks/registry.js";
export type Step = ProcedureStep;
export type { EpilogueStep };
export type StepKind = Step["kind"];

/**
 * How a procedure rotates a value suspected leaked: the order that ends the exposure window
 * soonest (the time the old value stays accepted anywhere), what that costs and what it saves.
 */
const compromiseSchema = z
  .object({
    /** Step ids, of `steps` above or of the `steps` here, in the order they run on a compromise. */
    order: z.array(slug).min(1),
    /** Steps only the compromise order runs (a login check that the old password is refused, ...). */
    steps: z.array(procedureStepSchema).default([]),
    /** The step whose success proves the old value refused by every consumer: it ends the exposure window. */
    refused_by: slug,
    /** Ask before rolling out to each next environment; off by default, for every wait keeps the leaked value valid. */
    gates: z.boolean().default(false),
    /** What the compromise order costs (who is down, for how long), as the plan says it. */
    outage: text,
    /** What it saves: which steps no longer run while the old value is accepted. */
    saves: text,
    /**
     * Where the outage is measured, in each environment: from the end of the step that breaks the
     * old credential there (`from`) to the end of the last re-deploy there (`to`). Both in `order`.
     */
    outage_steps: z.object({ from: slug, to: slug }).strict().optional(),
    seed: text.optional(),
    note: text.optional(),
  })
  .strict();
export type Compromise = z.infer<typeof compromiseSchema>;

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
    /** Puts services back on the old value when the rotation is aborted, in each environment already rolled out (last first). */
    rollback: z.array(rollbackStepSchema).default([]),
    /** A service is down while a step runs (one-token Telegram): measured and reported, estimated in the plan. */
    outage: z
      .object({
        /** Who is down, as the plan and the report say it: "the notification bot". */
        what: text,
        /** The step whose end starts the outage (the new token received), and the one whose end ends it. */
        from: slug,
        to: slug,
      })
      .strict()
      .optional(),
    rollout: z
      .object({
        /** Ask before rolling out to each next environment. Off where waiting only prolongs an outage (one-token Telegram). */
        gate: z.boolean().default(true),
        note: text.optional(),
      })
      .strict()
      .default({ gate: true }),
    compromise: compromiseSchema.optional(),
  })
  .strict()
  .refine((p) => (p.secret === undefined) !== (p.applies_to_category === undefined), {
    message: "a procedure names exactly one of `secret: vault_<key>` or `applies_to_category: true`",
  });
export type Procedure = z.infer<typeof procedureSchema>;

/** An argv with no `{placeholder}`: for commands that run outside a rotation. */
const literalArgv = commandFields.argv.refine(
  (argv) => argv.every((arg) => !/\{[a-z_0-9]+\}/.test(arg)),
  "the deploy guard runs before any rotation, so it takes no {placeholders}: write the values out",
);

export const runbookSchema = z
  .object({
    version: z.literal(1),
    files: z
      .object({ vault: text, manifest: text, changelog: text.default("CHANGELOG.md"), helper_runbook: text.optional() })
      .strict(),
    /** Rollout order: staging first. Per-environment steps run once in each, with a gate between them. */
    environments: z
      .array(
        z
          .object({
            name: slug,
            /** Replaces {inventory} in commands. */
            inventory: text,
            /** Appended as `--limit` to every ansible-playbook run in this environment. */
            limit: text.optional(),
            /** Variables for commands and built-in checks here: PGHOST, PGPORT, PGSSLMODE, PGSSLROOTCERT, NATS_URL, NATS_CA, NATS_MONITOR_URL. */
            env: envRecord(z.string()).default({}),
          })
          .strict(),
      )
      .min(1)
      .default([{ name: "staging", inventory: "infra/inventory/staging.yml", env: {} }]),
    /**
     * Runs before a rotation starts, outside any rotation: so no placeholders and no stdin (it has
     * no secret to pass); settings go in `env` as they are.
     */
    deploy_guard: z
      .object({
        argv: literalArgv,
        env: envRecord(z.string()).optional(),
        timeout: commandFields.timeout,
        title: text.default("No deploy is running"),
        /** A file rotabot holds in INFRA_DIR from a rotation's first vault write until it ends, for other tooling to honour. */
        marker: text.default(".deploy-in-progress"),
      })
      .strict()
      .optional(),
    policies: policiesSchema,
    procedures: z.array(procedureSchema).min(1),
    epilogue: z.array(epilogueStepSchema).default([]),
  })
  .strict()
  .superRefine((runbook, ctx) => {
    const envNames = new Set<string>();
    const inventories = new Map<string, string>();
    runbook.environments.forEach((env, index) => {
      if (envNames.has(env.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["environments", index, "name"],
          message: `duplicate environment "${env.name}"`,
        });
      }
      envNames.add(env.name);
      const problem = inventoryProblem(env.inventory);
      if (problem) ctx.addIssue({ code: "custom", path: ["environments", index, "inventory"], message: problem });
      const same = inventories.get(inventoryKey(env.inventory));
      if (same !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["environments", index, "inventory"],
          message: `${env.name} uses the same inventory as ${same}, so a rotation would roll out to those hosts twice and never to the other environment's before revoking the old value: give each environment its own inventory`,
        });
      else inventories.set(inventoryKey(env.inventory), env.name);
    });
    const checkScope = (step: AnyStep, path: (string | number)[]) => {
      if (scopeOf(step) === "environment" || !("argv" in step) || !step.argv) return;
      const uses = step.argv.find((a) => a.includes("{inventory}") || a.includes("{environment}"));
      if (uses) {
        ctx.addIssue({
          code: "custom",
          path: [...path, "argv"],
          message: `this step runs once, not in each environment, so ${uses} has no value: give it \`scope: environment\``,
        });
      }
    };
    runbook.procedures.forEach((p, i) => {
      p.steps.forEach((step, j) => checkScope(step, ["procedures", i, "steps", j]));
      p.compromise?.steps.forEach((step, j) => checkScope(step, ["procedures", i, "compromise", "steps", j]));
      if (p.compromise)
        checkCompromise(p, (path, message) =>
          ctx.addIssue({ code: "custom", path: ["procedures", i, "compromise", ...path], message }),
        );
      p.rollback.forEach((step, j) => checkScope(step, ["procedures", i, "rollback", j]));
    });
    runbook.epilogue.forEach((step, j) => checkScope(step, ["epilogue", j]));
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
      const firstDestructive = procedure.steps.findIndex((s) => s.destructive);
      const changing = procedure.steps
        .slice(0, firstDestructive === -1 ? undefined : firstDestructive)
        .filter((s) => kindOf(s).changesServices);
      if (changing.length > 0 && procedure.rollback.every((s) => s.kind === "vault_drop_new")) {
        ctx.addIssue({
          code: "custom",
          path: ["procedures", index, "rollback"],
          message: `${changing.map((s) => s.id).join(", ")} change services before the point of no return, so an abort must put them back on the old value: add \`rollback:\` steps (re-deploy with the old value, ...)`,
        });
      }
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

/** The steps a rotation of the procedure may run: its own, then those only its compromise order runs. */
export function allSteps(procedure: Procedure): Step[] {
  return [...procedure.steps, ...(procedure.compromise?.steps ?? [])];
}

/** The procedure's steps in the order a rotation runs them: its compromise order, or the routine one. */
export function stepsInOrder(procedure: Procedure, order: "routine" | "compromise"): Step[] {
  const compromise = procedure.compromise;
  if (order === "routine" || !compromise) return procedure.steps;
  const all = allSteps(procedure);
  return compromise.order.flatMap((id) => all.filter((s) => s.id === id));
}

/**
 * A compromise section that names only steps it has, each once, keeps every step that makes,
 * stores or renames the new value, uses every step of its own, and ends its window at a step it runs.
 */
function checkCompromise(
  procedure: z.output<typeof procedureSchema>,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const compromise = procedure.compromise!;
  const own = new Set(procedure.steps.map((s) => s.id));
  compromise.steps.forEach((step, j) => {
    if (own.has(step.id))
      issue(["steps", j, "id"], `"${step.id}" is already a step of the procedure: give the compromise step its own id`);
  });
  const known = new Set(allSteps(procedure).map((s) => s.id));
  const seen = new Set<string>();
  compromise.order.forEach((id, j) => {
    if (!known.has(id))
      issue(
        ["order", j],
        `"${id}" is no step of the procedure nor of compromise.steps: write one of ${[...known].join(", ")}`,
      );
    if (seen.has(id)) issue(["order", j], `"${id}" is listed twice: a step runs once in the compromise order`);
    seen.add(id);
  });
  const essential = procedure.steps.filter((s) =>
    ["generate", "collect", "vault_add_new", "vault_promote"].includes(s.kind),
  );
  for (const step of essential)
    if (!seen.has(step.id))
      issue(
        ["order"],
        `the compromise order leaves out "${step.id}" (${step.kind}), without which no new value is made, stored or renamed: add it`,
      );
  compromise.steps.forEach((step, j) => {
    if (!seen.has(step.id)) issue(["steps", j], `"${step.id}" is not in compromise.order: add it there or remove it`);
  });
  if (!seen.has(compromise.refused_by))
    issue(
      ["refused_by"],
      `"${compromise.refused_by}" is not in compromise.order: name the check there that proves the old value refused`,
    );
  else {
    const step = allSteps(procedure).find((s) => s.id === compromise.refused_by);
    if (step && step.kind !== "verify" && step.kind !== "run")
      issue(
        ["refused_by"],
        `"${step.id}" is a ${step.kind} step, which proves nothing: name a verify or run step that fails while the old value is accepted`,
      );
    // An abort rolls back to the old value: once it is refused, that is the leaked value put back.
    const ordered = compromise.order.map((id) => allSteps(procedure).find((s) => s.id === id));
    const refusedAt = compromise.order.indexOf(compromise.refused_by);
    if (!ordered.slice(0, refusedAt + 1).some((s) => s?.destructive))
      issue(
        ["refused_by"],
        `no step up to "${compromise.refused_by}" is destructive, so the rotation could still be aborted after the old value is refused, and the rollback would put the suspected value back in service: mark the step that stops accepting the old value (or a confirm step right before it) destructive: true`,
      );
  }
  checkOutageSteps(compromise, issue);
}

/** The outage is measured between two steps of the compromise order, the breaking one first. */
function checkOutageSteps(compromise: Compromise, issue: (path: (string | number)[], message: string) => void): void {
  const steps = compromise.outage_steps;
  if (!steps) return;
  const from = compromise.order.indexOf(steps.from);
  const to = compromise.order.indexOf(steps.to);
  if (from < 0)
    issue(
      ["outage_steps", "from"],
      `"${steps.from}" is not in compromise.order: name the step there that breaks the old credential`,
    );
  if (to < 0) issue(["outage_steps", "to"], `"${steps.to}" is not in compromise.order: name the last re-deploy there`);
  if (from >= 0 && to >= 0 && to < from)
    issue(
      ["outage_steps", "to"],
      `"${steps.to}" runs before "${steps.from}" in compromise.order: the outage ends at the last re-deploy after the break; swap them or name later steps`,
    );
}

/** An inventory path as ansible would open it, relative to INFRA_DIR, for comparing two. */
export function inventoryKey(inventory: string): string {
  return path.posix.normalize(inventory).replace(/\/+$/, "");
}

/**
 * Why an environment's inventory is not a file or folder inside the infra checkout: an absolute
 * path, one that climbs out with `..` or starts at `~`, or ansible's comma-separated host list.
 */
function inventoryProblem(inventory: string): string | undefined {
  const fix =
    "write the path of its inventory file or folder relative to INFRA_DIR, such as infra/inventory/production.yml";
  if (inventory.includes(","))
    return `"${inventory}" is a host list, not an inventory of the infra checkout (whose group_vars hold each environment's settings): ${fix}`;
  const normal = inventoryKey(inventory);
  if (path.posix.isAbsolute(normal) || normal.startsWith("~") || normal === ".." || normal.startsWith("../"))
    return `${inventory} is outside the infra checkout, where nobody reviews it with the playbooks and the vault: ${fix}`;
  return undefined;
}

export type Runbook = z.infer<typeof runbookSchema>;
export type Environment = Runbook["environments"][number];

/** Whether a step runs once per rotation or once in each environment: the runbook's `scope`, else its kind's. */
export function scopeOf(step: AnyStep): "environment" | "once" {
  return step.scope ?? kindOf(step).scope;
}
export type Policy = Runbook["policies"][string];
