import type { EnvironmentOutage, Rotation, StepRecord } from "../model/rotation.js";

/**
 * A compromise order's outage in each environment, from the step records: from the end of the
 * `from` step there (or of the one run for every environment) to the end of the `to` step there.
 * An environment is listed once both have ended (done, skipped or marked done: the break and the
 * re-deploy happened either way); recomputed from the records, so a retried step counts its last end.
 */
export function measureEnvironmentOutages(
  r: Pick<Rotation, "environments" | "steps">,
  steps: { from: string; to: string },
): EnvironmentOutage[] {
  return r.environments.flatMap((environment) => {
    const from = endIn(r.steps, steps.from, environment);
    const to = endIn(r.steps, steps.to, environment);
    if (!from || !to) return [];
    return [{ environment, from, to, seconds: Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) }];
  });
}

function endIn(records: readonly StepRecord[], stepId: string, environment: string): string | undefined {
  const record = records.find(
    (s) =>
      s.stepId === stepId && s.phase === "procedure" && (s.environment === undefined || s.environment === environment),
  );
  return record?.state === "done" || record?.state === "skipped" ? record.endedAt : undefined;
}
