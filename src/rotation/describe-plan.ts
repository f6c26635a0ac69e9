import type { Procedure, Runbook } from "../runbook/runbook-schema.js";
import { newKeyOf } from "../model/new-key.js";
import type { Rotation } from "../model/rotation.js";
import { planSteps } from "./new-rotation.js";
import { definitionOf } from "./step-definitions.js";
import { kindOf } from "../steps/registry.js";

export interface PlanLine {
  index: number;
  title: string;
  kind: string;
  destructive: boolean;
  /** Where it runs, for steps that run in each environment. */
  environment: string | undefined;
  /** The command as it will run (paths filled in, never a value), or what the step does. */
  detail: string | undefined;
  /** The seed runbook's own words for the step, where the runbook runs something else, and why (`note`). */
  seed: string | undefined;
  note: string | undefined;
  phase: "procedure" | "epilogue";
}

/** What a plan fills its commands' placeholders with: the secret's name and rotabot's paths. */
export interface PlanContext {
  key: string;
  paths: { vaultPasswordFile: string; infraDir: string; stateDir: string };
}

/**
 * The plan shown before a rotation starts: every step in the order it will run (per-environment
 * steps once in each environment, with the gates between them), its command, and which ones
 * cannot be undone. Placeholders that name a path or a key are filled in; values stay
 * placeholders (`<new value>`), for they exist only in the vault.
 */
export function describePlan(
  runbook: Runbook,
  procedure: Procedure,
  context: PlanContext,
  order: "routine" | "compromise" = "routine",
): PlanLine[] {
  const steps = planSteps(runbook, procedure, order);
  const environments = runbook.environments.map((e) => e.name);
  const draft = { procedureId: procedure.id, environments, steps, compromise: { order } } as Pick<
    Rotation,
    "procedureId" | "environments" | "steps"
  > as Rotation;
  return steps.map((record, i) => {
    const step = definitionOf(runbook, draft, record);
    const detail = step ? kindOf(step).describe(step) : undefined;
    return {
      index: i + 1,
      title: record.title,
      kind: record.kind,
      destructive: record.destructive,
      environment: record.environment,
      detail: detail && showPlaceholders(detail, runbook, record.environment, context),
      seed: oneLine(step?.seed),
      note: oneLine(step?.note),
      phase: record.phase,
    };
  });
}

/** A runbook text as one line (YAML block scalars keep their line breaks; a shell command its `\` continuations). */
const oneLine = (text: string | undefined) => text?.replace(/\\\n/g, " ").replace(/\s+/g, " ").trim() || undefined;

/** A step's description with the placeholders that name a path, a key or an environment filled in; values stay placeholders. */
export function showPlaceholders(
  text: string,
  runbook: Runbook,
  environment: string | undefined,
  context: PlanContext,
): string {
  const env = runbook.environments.find((e) => e.name === environment);
  const shown: Record<string, string | undefined> = {
    vault_password_file: context.paths.vaultPasswordFile,
    infra_dir: context.paths.infraDir,
    state_dir: context.paths.stateDir,
    secret_key: context.key,
    new_key: newKeyOf(context.key),
    inventory: env?.inventory,
    environment: env?.name,
    rotation_id: "<rotation id>",
    new_value: "<new value>",
    old_value: "<old value>",
  };
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => shown[name] ?? whole);
}
