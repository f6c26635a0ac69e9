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

/** What the plan says of a procedure's declared outage, from the last rotation that measured it. */
export function outageEstimate(
  procedure: { id: string; outage?: { what: string } | undefined },
  rotations: readonly Pick<Rotation, "procedureId" | "state" | "outage" | "createdAt">[],
): string | undefined {
  if (!procedure.outage) return undefined;
  const last = rotations.find((r) => r.procedureId === procedure.id && r.state === "completed" && r.outage);
  const what = procedure.outage.what;
  return last?.outage
    ? `Expect ${what} to be down for about ${Math.round(last.outage.seconds)} s (the last rotation, ${last.createdAt.slice(0, 10)}: ${Math.round(last.outage.seconds)} s).`
    : `Expect ${what} to be down while the new value is deployed (no earlier rotation measured it).`;
}

/** The measured outage, as the completion report says it. */
export function describeOutage(rotation: Pick<Rotation, "outage">): string | undefined {
  return rotation.outage && `${rotation.outage.what} was down for ${rotation.outage.seconds.toFixed(1)} s`;
}
