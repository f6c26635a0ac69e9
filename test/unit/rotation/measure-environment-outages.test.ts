import { describe, expect, it } from "vitest";
import type { StepRecord } from "../../../src/model/rotation.js";
import { measureEnvironmentOutages } from "../../../src/rotation/measure-environment-outages.js";

const record = (stepId: string, environment: string | undefined, state: StepRecord["state"], endedAt?: string) =>
  ({
    id: environment ? `${stepId}@${environment}` : stepId,
    stepId,
    ...(environment ? { environment } : {}),
    title: stepId,
    kind: "run",
    phase: "procedure",
    destructive: false,
    idempotent: false,
    state,
    attempts: 1,
    ...(endedAt ? { endedAt } : {}),
  }) satisfies StepRecord;

const at = (seconds: number) => new Date(Date.UTC(2026, 11, 7, 21) + seconds * 1000).toISOString();
const environments = ["staging", "production"];
const steps = { from: "drop_old", to: "deploy" };

describe("measureEnvironmentOutages", () => {
  it("measures each environment from its break to the end of its own re-deploy", () => {
    const r = {
      environments,
      steps: [
        record("drop_old", "staging", "done", at(1)),
        record("deploy", "staging", "done", at(5)),
        record("drop_old", "production", "done", at(6)),
        record("deploy", "production", "skipped", at(13.5)),
      ],
    };
    expect(measureEnvironmentOutages(r, steps)).toEqual([
      { environment: "staging", from: at(1), to: at(5), seconds: 4 },
      { environment: "production", from: at(6), to: at(13.5), seconds: 7.5 },
    ]);
  });

  it("starts every environment's outage at a break run once for all (a revoke in a web console)", () => {
    const r = {
      environments,
      steps: [
        record("drop_old", undefined, "done", at(0)),
        record("deploy", "staging", "done", at(3)),
        record("deploy", "production", "done", at(9)),
      ],
    };
    expect(measureEnvironmentOutages(r, steps).map((o) => o.seconds)).toEqual([3, 9]);
  });

  it("leaves out an environment whose break or re-deploy has not ended (still running, failed)", () => {
    const r = {
      environments,
      steps: [
        record("drop_old", "staging", "done", at(1)),
        record("deploy", "staging", "failed", at(2)),
        record("drop_old", "production", "running"),
        record("deploy", "production", "pending"),
      ],
    };
    expect(measureEnvironmentOutages(r, steps)).toEqual([]);
  });
});
