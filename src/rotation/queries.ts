import type { CreatedCredential, Rotation, RotationState, StepRecord } from "../model/rotation.js";

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

/** The measured outage, as the completion report says it, with what was measured. */
export function describeOutage(rotation: Pick<Rotation, "outage">): string | undefined {
  const outage = rotation.outage;
  return (
    outage &&
    `${outage.what} was down for ${outage.seconds.toFixed(1)} s${outage.measured ? ` (measured ${outage.measured})` : ""}`
  );
}

/** The credentials the operator created outside rotabot for this rotation that are unused and not said revoked. */
export function unusedCredentials(rotation: Pick<Rotation, "created">): CreatedCredential[] {
  return (rotation.created ?? []).filter((c) => c.state === "unused");
}

/**
 * Where an abort's rollback stands in each environment, and for the steps that run once: what is
 * back on the old value, what failed (with how to do it by hand), what never changed.
 */
export function rollbackByEnvironment(rotation: Pick<Rotation, "rollback" | "environments" | "steps">): string[] {
  const steps = rotation.rollback?.steps ?? [];
  const state = (group: typeof steps) => {
    const open = group.filter((s) => s.state !== "done" && s.state !== "skipped");
    if (open.length === 0) return "back on the old value";
    return open
      .map(
        (s) =>
          `“${s.title}” ${s.state === "failed" ? `failed: ${s.message ?? "no reason given"}` : s.state === "running" ? "is running" : "has not run"}; by hand: ${s.byHand}`,
      )
      .join("; ");
  };
  const once = steps.filter((s) => s.environment === undefined);
  const lines = once.length > 0 ? [`vault: ${state(once)}`] : [];
  for (const env of rotation.environments) {
    const here = steps.filter((s) => s.environment === env);
    const reached = rotation.steps.some((s) => s.environment === env && s.state !== "pending");
    lines.push(`${env}: ${here.length > 0 ? state(here) : reached ? "nothing to undo" : "never rolled out there"}`);
  }
  return lines;
}
