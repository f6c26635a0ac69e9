import type { Rotation, RotationState, StepRecord } from "./model.js";

/** States a rotation never leaves. */
export const TERMINAL_STATES: ReadonlySet<RotationState> = new Set(["completed", "aborted"]);

export const isTerminal = (rotation: Pick<Rotation, "state">) => TERMINAL_STATES.has(rotation.state);

/** The first step that is neither done nor skipped: where the rotation stands. */
export function currentStep(rotation: Pick<Rotation, "steps">): StepRecord | undefined {
  return rotation.steps.find((s) => s.state !== "done" && s.state !== "skipped");
}

/** A step as people read it: its title, and where it runs when the rotation has several environments. */
export function stepLabel(record: Pick<StepRecord, "title" | "environment">, environments: readonly string[]): string {
  return record.environment && environments.length > 1 ? `${record.title} · ${record.environment}` : record.title;
}
