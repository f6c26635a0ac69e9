import { describe, expect, it } from "vitest";
import { buildTimeline, timelineMarkdown } from "../../../src/audit/build-timeline.js";
import { historyLines } from "../../../src/cli/history-command.js";
import type { Rotation, StepRecord } from "../../../src/model/rotation.js";

const ALICE = { id: "tg:1", name: "@alice" };
const BOB = { id: "tg:2", name: "@bob" };
const step = (id: string, title: string, endedAt: string, extra: Partial<StepRecord> = {}): StepRecord => ({
  id,
  stepId: id,
  title,
  kind: "run",
  phase: "procedure",
  destructive: false,
  idempotent: true,
  state: "done",
  attempts: 1,
  startedAt: endedAt,
  endedAt,
  ...extra,
});
const rotation: Rotation = {
  version: 2,
  id: "20261207-1000-abcd",
  key: "vault_sentry_dsn",
  procedureId: "sentry",
  category: "sentry_dsn",
  initiator: ALICE,
  environments: ["staging"],
  incident: { reason: "DSN in a public repo" },
  compromise: {
    reason: "DSN in a public repo",
    since: "2026-12-07T08:00:00.000Z",
    sinceGiven: true,
    order: "compromise",
  },
  state: "completed",
  steps: [
    step("collect_dsn", "Create or look up the new DSN in Sentry", "2026-12-07T10:01:00.000Z", { kind: "collect" }),
    step("disable_old", "Disable the old client key in Sentry", "2026-12-07T10:03:00.000Z", { confirmedBy: ALICE }),
    step("old_dsn_refused", "Check that Sentry refuses the old DSN", "2026-12-07T10:03:30.000Z", {
      message: "Sentry refuses the old DSN (HTTP 403)",
    }),
    step("verify_events", "Verify that events arrive", "2026-12-07T10:06:00.000Z", {
      markedDoneBy: BOB,
      message: "marked done by @bob",
    }),
    step("promote", "Rename", "2026-12-07T10:07:00.000Z"),
  ],
  exposure: {
    from: "2026-12-07T08:00:00.000Z",
    to: "2026-12-07T10:03:30.000Z",
    seconds: 7410,
    proven: true,
    by: "Check that Sentry refuses the old DSN",
  },
  createdAt: "2026-12-07T10:00:00.000Z",
  updatedAt: "2026-12-07T10:07:00.000Z",
  endedAt: "2026-12-07T10:07:00.000Z",
  commit: "abc1234",
};
const audit = [
  {
    at: "2026-12-07T10:00:50.000Z",
    event: {
      type: "value_checked",
      rotation: { id: rotation.id },
      step: "Create or look up the new DSN in Sentry",
      how: "pasted",
      by: "@alice",
    },
  },
  {
    at: "2026-12-07T10:02:59.000Z",
    event: {
      type: "answered",
      rotation: { id: rotation.id },
      step: "Disable the old client key in Sentry",
      answer: "Done",
      by: "@alice",
    },
  },
  { at: "2026-12-07T10:02:59.500Z", event: { type: "step_ok", rotation: { id: rotation.id }, step: "noise" } },
  {
    at: "2026-12-07T10:05:00.000Z",
    event: {
      type: "answered",
      rotation: { id: "20261207-0900-ffff" },
      step: "another rotation",
      answer: "Done",
      by: "@eve",
    },
  },
];

describe("an incident timeline (issue 23)", () => {
  it("reads in order: the leak, the start, every step and decision with who, the refusal, the end", () => {
    const lines = buildTimeline(rotation, audit).map(
      (e) => `${e.at.slice(11, 19)} ${e.what}${e.who ? ` [${e.who}]` : ""}`,
    );
    expect(lines).toEqual([
      "08:00:00 suspected leak of vault_sentry_dsn (as declared): DSN in a public repo [undefined]".replace(
        " [undefined]",
        "",
      ),
      "10:00:00 rotation 20261207-1000-abcd of vault_sentry_dsn started: suspected compromise (DSN in a public repo), compromise order [@alice]",
      "10:00:50 Create or look up the new DSN in Sentry: value pasted, accepted [@alice]",
      "10:01:00 Create or look up the new DSN in Sentry: done",
      "10:02:59 Disable the old client key in Sentry: Done [@alice]",
      "10:03:00 Disable the old client key in Sentry: done",
      "10:03:30 Check that Sentry refuses the old DSN: done (Sentry refuses the old DSN (HTTP 403))",
      "10:03:30 old value proven refused everywhere: exposure window 2 h 03 min: the old value stayed accepted from the suspected leak at 2026-12-07T08:00:00.000Z until “Check that Sentry refuses the old DSN” proved it refused at 2026-12-07T10:03:30.000Z",
      "10:06:00 Verify that events arrive: marked done (marked done by @bob) [@bob]",
      "10:07:00 Rename: done",
      "10:07:00 rotation completed; commit abc1234",
    ]);
  });

  it("as Markdown: a table to paste, with the window above it", () => {
    const markdown = timelineMarkdown(rotation, buildTimeline(rotation, audit));
    expect(markdown).toContain("## Timeline: rotation 20261207-1000-abcd of `vault_sentry_dsn`");
    expect(markdown).toContain("Suspected compromise: DSN in a public repo. exposure window 2 h 03 min");
    expect(markdown).toContain("| time (UTC) | what | who |\n|---|---|---|\n| 2026-12-07 08:00:00Z | suspected leak");
    expect(markdown).toContain("| 2026-12-07 10:02:59Z | Disable the old client key in Sentry: Done | @alice |");
  });

  it("names the approver asked, and when they lapsed (any approver could approve from then)", () => {
    const asked = { ...rotation, approver: { ...BOB, lapsed: "2026-12-07T10:02:00.000Z" } };
    const lines = buildTimeline(asked, audit).map((e) => `${e.at.slice(11, 19)} ${e.what}`);
    expect(lines[1]).toBe(
      "10:00:00 rotation 20261207-1000-abcd of vault_sentry_dsn started: suspected compromise (DSN in a public repo), compromise order; approver asked: @bob",
    );
    expect(lines).toContain("10:02:00 @bob, the approver asked, did not answer in time: any approver may approve");
    expect(historyLines(asked)).toContain(
      "  👥 approver asked: @bob (did not answer in time, 2026-12-07T10:02:00.000Z: any approver could approve)",
    );
    expect(historyLines(rotation).some((l) => l.includes("approver"))).toBe(false);
  });
});
