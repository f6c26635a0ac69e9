import { z } from "zod";
import { changelogUpdateStep } from "./changelog-update.js";
import { collectStep } from "./collect.js";
import { confirmStep } from "./confirm.js";
import { generateStep } from "./generate.js";
import { gateStep } from "./gate.js";
import { gitCommitStep } from "./git-commit.js";
import { manifestUpdateStep } from "./manifest-update.js";
import { manualStep } from "./manual.js";
import { natsReloadStep } from "./nats-reload.js";
import { notifyOwnerStep } from "./notify-owner.js";
import { postgresSetPasswordStep } from "./postgres-set-password.js";
import { runStep } from "./run.js";
import type { StepKind } from "./step-kind.js";
import { vaultAddNewStep } from "./vault-add-new.js";
import { vaultDropNewStep } from "./vault-drop-new.js";
import { vaultPromoteStep } from "./vault-promote.js";
import { verifyStep } from "./verify.js";
import { waitDrainStep } from "./wait-drain.js";

/** The kinds a procedure's steps may have. Adding a kind: its file, one line here, one line in STEP_KINDS. */
export const procedureStepSchema = z.discriminatedUnion("kind", [
  generateStep.schema,
  collectStep.schema,
  vaultAddNewStep.schema,
  runStep.schema,
  verifyStep.schema,
  manualStep.schema,
  confirmStep.schema,
  vaultPromoteStep.schema,
  waitDrainStep.schema,
  postgresSetPasswordStep.schema,
  natsReloadStep.schema,
]);

/** The kinds of the completion checklist (the runbook's `epilogue`). */
export const epilogueStepSchema = z.discriminatedUnion("kind", [
  runStep.schema,
  manifestUpdateStep.schema,
  changelogUpdateStep.schema,
  gitCommitStep.schema,
  notifyOwnerStep.schema,
]);

/** The kinds that put services back on the old value when a rotation is aborted (the procedure's `rollback`). */
export const rollbackStepSchema = z.discriminatedUnion("kind", [
  runStep.schema,
  postgresSetPasswordStep.schema,
  natsReloadStep.schema,
  vaultDropNewStep.schema,
]);

export type ProcedureStep = z.output<typeof procedureStepSchema>;
export type EpilogueStep = z.output<typeof epilogueStepSchema>;
export type RollbackStep = z.output<typeof rollbackStepSchema>;
/** A gate between two environments; rotabot adds them itself. */
export type GateStep = z.output<typeof gateStep.schema>;
export type AnyStep = ProcedureStep | EpilogueStep | RollbackStep | GateStep;
export type StepKindName = AnyStep["kind"];

/** A kind in either schema but missing here, or without an executor, fails type-check. */
const STEP_KINDS: { [K in StepKindName]: StepKind<Extract<AnyStep, { kind: K }>> } = {
  generate: generateStep,
  collect: collectStep,
  vault_add_new: vaultAddNewStep,
  run: runStep,
  verify: verifyStep,
  manual: manualStep,
  confirm: confirmStep,
  vault_promote: vaultPromoteStep,
  wait_drain: waitDrainStep,
  postgres_set_password: postgresSetPasswordStep,
  nats_reload: natsReloadStep,
  manifest_update: manifestUpdateStep,
  changelog_update: changelogUpdateStep,
  git_commit: gitCommitStep,
  notify_owner: notifyOwnerStep,
  gate: gateStep,
  vault_drop_new: vaultDropNewStep,
};

/** The behaviour of a step's kind. */
export function kindOf<S extends AnyStep>(step: S): StepKind<S> {
  return STEP_KINDS[step.kind] as unknown as StepKind<S>;
}

/** The argv of each command a step runs, placeholders unexpanded; none for a kind that runs no command of the runbook. */
export function stepCommands(step: AnyStep): readonly (readonly string[])[] {
  return kindOf(step).commands?.(step) ?? [];
}
