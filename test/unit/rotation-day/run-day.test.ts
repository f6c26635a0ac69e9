import { describe, expect, it } from "vitest";
import type { Day } from "../../../src/rotation-day/create-day-journal.js";
import { runDay, type RunDayDeps } from "../../../src/rotation-day/run-day.js";
import type { Rotation } from "../../../src/model/rotation.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const loaded = await loadRunbook(SHIPPED_RUNBOOK);
if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
const runbook = loaded.runbook;
const ALICE = { id: "shell:alice", name: "alice" };

/** An engine whose rotations end as the test says, recording what was started and resumed. */
function fakeEngine(initial: Partial<Rotation>[] = []) {
  const rotations = new Map<string, Partial<Rotation>>(initial.map((r) => [r.id!, r]));
  const calls: string[] = [];
  let n = 0;
  const engine: RunDayDeps["engine"] = {
    start: (request) => {
      const id = `20261207-0900-000${++n}`;
      calls.push(`start ${request.key}`);
      const rotation = { id, key: request.key, state: "running", createdAt: new Date().toISOString() } as Rotation;
      rotations.set(id, rotation);
      return Promise.resolve({ ok: true as const, rotation });
    },
    resume: (id) => {
      calls.push(`resume ${id}`);
      return Promise.resolve({ ok: true as const, rotation: rotations.get(id) as Rotation });
    },
    get: (id) => Promise.resolve(rotations.get(id) as Rotation | undefined),
    active: () => Promise.resolve([...rotations.values()].filter((r) => r.state !== "completed") as Rotation[]),
  };
  return { engine, rotations, calls };
}

function dayOf(keys: [string, string][]): Day {
  return {
    version: 1,
    id: "day-20261207-0900-abcd",
    initiator: ALICE,
    createdAt: "2026-12-07T09:00:00.000Z",
    state: "running",
    entries: keys.map(([key, procedureId]) => ({ key, procedureId, outcome: "pending" })),
  };
}

function deps(
  engine: RunDayDeps["engine"],
  end: (id: string) => { state: Rotation["state"]; choice?: "skip" | "abort" },
  rotations: Map<string, Partial<Rotation>>,
) {
  const saved: string[] = [];
  const d: RunDayDeps = {
    engine,
    journal: { save: (day) => Promise.resolve(void saved.push(day.entries.map((e) => e.outcome).join(","))) },
    runbook,
    now: () => new Date(),
    request: () => ({ initiator: ALICE }),
    drive: async (_entry, begin) => {
      const begun = await begin();
      if (!begun.ok) return { stopped: false };
      const { state, choice } = end(begun.rotation.id);
      rotations.set(begun.rotation.id, {
        ...rotations.get(begun.rotation.id),
        state,
        endedAt: new Date().toISOString(),
      });
      return { stopped: false, skip: choice === "skip", abortDay: choice === "abort" };
    },
  };
  return { d, saved };
}

describe("runDay", () => {
  it("runs each entry in order; a skipped one does not stop the others, an aborted day starts no more", async () => {
    const { engine, rotations, calls } = fakeEngine();
    const day = dayOf([
      ["vault_signalwire_token", "signalwire"],
      ["vault_sentry_dsn", "sentry"],
      ["vault_billing_api_token", "api-token"],
    ]);
    const ends = [
      { state: "completed" as const },
      { state: "aborted" as const, choice: "skip" as const },
      { state: "completed" as const },
    ];
    const { d } = deps(engine, () => ends.shift()!, rotations);
    const ended = await runDay(d, day);
    expect(calls).toEqual(["start vault_signalwire_token", "start vault_sentry_dsn", "start vault_billing_api_token"]);
    expect([ended.state, ended.entries.map((e) => e.outcome)]).toEqual([
      "ended",
      ["completed", "skipped", "completed"],
    ]);

    const second = fakeEngine();
    const aborting = [{ state: "aborted" as const, choice: "abort" as const }];
    const run2 = deps(second.engine, () => aborting.shift()!, second.rotations);
    const ended2 = await runDay(
      run2.d,
      dayOf([
        ["vault_signalwire_token", "signalwire"],
        ["vault_sentry_dsn", "sentry"],
      ]),
    );
    expect(second.calls).toEqual(["start vault_signalwire_token"]);
    expect(ended2.entries.map((e) => [e.outcome, e.message])).toEqual([
      ["aborted", "aborted"],
      ["not_started", "the day was aborted before its turn"],
    ]);
  });

  it("after a crash between a rotation's start and the day's journal, resumes that rotation instead of starting another", async () => {
    const startedAt = "2026-12-07T09:00:05.000Z";
    const { engine, rotations, calls } = fakeEngine([
      {
        id: "20261207-0900-beef",
        key: "vault_sentry_dsn",
        state: "awaiting_operator",
        createdAt: "2026-12-07T09:00:06.000Z",
      },
    ]);
    const day = dayOf([["vault_sentry_dsn", "sentry"]]);
    day.entries[0] = { ...day.entries[0]!, outcome: "running", startedAt };
    const { d } = deps(engine, () => ({ state: "completed" }), rotations);
    const ended = await runDay(d, day);
    expect(calls).toEqual(["resume 20261207-0900-beef"]);
    expect(ended.entries[0]).toMatchObject({ outcome: "completed", rotationId: "20261207-0900-beef" });
  });

  it("records a rotation that ended before the restart without driving it again", async () => {
    const { engine, rotations, calls } = fakeEngine([
      {
        id: "20261207-0900-cafe",
        key: "vault_sentry_dsn",
        state: "completed",
        createdAt: "2026-12-07T09:00:06.000Z",
        endedAt: "2026-12-07T09:03:06.000Z",
        message: "vault_sentry_dsn rotated",
      },
    ]);
    const day = dayOf([["vault_sentry_dsn", "sentry"]]);
    day.entries[0] = {
      ...day.entries[0]!,
      outcome: "running",
      startedAt: "2026-12-07T09:00:05.000Z",
      rotationId: "20261207-0900-cafe",
    };
    const { d } = deps(engine, () => expect.fail("driven again"), rotations);
    const ended = await runDay(d, day);
    expect(calls).toEqual([]);
    expect(ended.entries[0]).toMatchObject({ outcome: "completed", endedAt: "2026-12-07T09:03:06.000Z" });
  });
});
