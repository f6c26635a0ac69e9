import { describeExposure } from "../../../src/changelog/describe-exposure.js";
import { describe, expect, it } from "vitest";
import type { Actor, RollbackStepRecord, Rotation, StepRecord } from "../../../src/model/rotation.js";
import { refusalFor } from "../../../src/rotation/answer-rules.js";
import type { Input, StepInfo, Transition, TransitionContext } from "../../../src/rotation/transition-io.js";
import { transition } from "../../../src/rotation/transitions.js";

const ALICE: Actor = { id: "tg:1", name: "@alice" };
const BOB: Actor = { id: "tg:2", name: "@bob" };
const CAROL: Actor = { id: "tg:3", name: "@carol" };
const NOW = "2026-11-27T10:00:00.000Z";
const LATER = "2026-11-27T10:20:00.000Z";

type Spec = Partial<StepRecord> & { id: string; interaction?: StepInfo["interaction"]; prompt?: string };

/** A rotation of the given steps (all pending unless said), and the step infos the runbook would give. */
function setup(specs: Spec[], rotation: Partial<Rotation> = {}) {
  const infos = new Map<string, StepInfo>();
  const steps = specs.map(({ interaction = "automatic", prompt, ...s }): StepRecord => {
    infos.set(s.id, { interaction, ...(prompt ? { prompt } : {}) });
    return {
      stepId: s.id,
      title: `Step ${s.id}`,
      kind: s.kind ?? (interaction === "automatic" ? "run" : interaction),
      phase: "procedure",
      destructive: false,
      idempotent: false,
      state: "pending",
      attempts: 0,
      ...s,
    };
  });
  const r: Rotation = {
    version: 2,
    id: "20261127-1000-abcd",
    key: "vault_x",
    procedureId: "p",
    category: "api_token",
    initiator: ALICE,
    environments: ["staging"],
    state: "running",
    steps,
    createdAt: NOW,
    updatedAt: NOW,
    ...rotation,
  };
  return { r: deepFreeze(r), infos };
}

/**
 * What planRollback would give for these records: `<key>_new` dropped first, then one re-deploy
 * in staging once a step that changes services (kind "run") ran.
 */
function rollbackPlan(r: Readonly<Rotation>): { steps: RollbackStepRecord[]; touched: boolean } {
  const touched = r.steps.some(
    (s) => s.kind === "run" && ["running", "done", "failed", "interrupted"].includes(s.state),
  );
  const drop: RollbackStepRecord = {
    id: "vault_drop_new",
    stepId: "vault_drop_new",
    title: "Remove vault_x_new from the vault",
    kind: "vault_drop_new",
    state: "pending",
    byHand: "delete vault_x_new with ansible-vault edit vault.yml",
  };
  const redeploy: RollbackStepRecord = {
    id: "redeploy@staging",
    stepId: "redeploy",
    title: "Re-deploy",
    kind: "run",
    environment: "staging",
    state: "pending",
    byHand: "ansible-playbook -i staging.yml deploy.yml (it renders vault_x, the old value, once vault_x_new is gone)",
  };
  return { steps: touched ? [drop, redeploy] : [drop], touched };
}

let nonces = 0;
function ctxFor(infos: Map<string, StepInfo>, over: Partial<TransitionContext> = {}): TransitionContext {
  return {
    now: NOW,
    nonce: `n${++nonces}`.padEnd(8, "0"),
    stopping: false,
    self: { pid: 42, host: "ops1" },
    confirmTimeoutMs: 15 * 60_000,
    approval: { requireSecondApprover: false, approverIds: [] },
    info: (record) => infos.get(record.id),
    logFile: (id, step) => `/state/logs/${id}/${step}.log`,
    rollbackPlan,
    ...over,
  };
}

function ok(t: Transition) {
  if (!t.ok) throw new Error(`refused: ${t.message}`);
  return t;
}
const step = (r: Rotation, id: string) => r.steps.find((s) => s.id === id)!;
const types = (t: Transition) => (t.ok ? t.notices.map((n) => n.type) : []);
const effects = (t: Transition) => (t.ok ? t.effects.map((e) => e.type) : []);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Runs inputs in order, each against the previous result. */
function run(r: Rotation, infos: Map<string, StepInfo>, ...inputs: (Input | ((r: Rotation) => Input))[]) {
  let current = r;
  let last: Transition | undefined;
  for (const input of inputs) {
    last = ok(transition(current, typeof input === "function" ? input(current) : input, ctxFor(infos)));
    current = deepFreeze(last.rotation);
  }
  return { r: current, t: last! };
}
const done = (recordId: string, extra: Partial<Extract<Input, { type: "step_finished" }>> = {}): Input => ({
  type: "step_finished",
  recordId,
  outcome: { status: "done" },
  cancelled: false,
  ms: 10,
  ...extra,
});
const failed = (recordId: string, message = "exited with code 2", cancelled = false): Input => ({
  type: "step_finished",
  recordId,
  outcome: { status: "failed", message },
  cancelled,
  ms: 10,
});
const answer =
  (response: Extract<Input, { type: "answer" }>["response"], actor = ALICE) =>
  (r: Rotation): Input => ({
    type: "answer",
    nonce: r.awaiting!.nonce,
    response,
    actor,
  });

describe("starting", () => {
  it("runs the first automatic step: running, one attempt, its log file, nothing else changed", () => {
    const { r, infos } = setup([{ id: "a" }, { id: "b" }]);
    const t = ok(transition(r, { type: "begin" }, ctxFor(infos)));
    expect(step(t.rotation, "a")).toMatchObject({ state: "running", attempts: 1, startedAt: NOW });
    expect(step(t.rotation, "a").logFile).toBe(`/state/logs/${r.id}/a.log`);
    expect(step(t.rotation, "b").state).toBe("pending");
    expect(t.effects).toEqual([{ type: "run_step", recordId: "a" }]);
    expect(types(t)).toEqual(["started", "step_started"]);
    expect(t.rotation.pointOfNoReturn).toBeUndefined();
    expect(t.rotation.process).toEqual({ pid: 42, host: "ops1" });
  });

  it("asks to reuse or replace a <key>_new left by an earlier attempt, showing only its last 4 characters", () => {
    const { r, infos } = setup([{ id: "gen", kind: "generate" }]);
    const t = ok(transition(r, { type: "begin", leftoverNewEnding: "abcd" }, ctxFor(infos)));
    expect(t.rotation.awaiting).toMatchObject({
      kind: "existing_new",
      accepts: ["reuse_new", "replace_new", "cancel"],
    });
    expect(t.rotation.awaiting!.prompt).toContain(
      "vault_x_new is already in the vault from an earlier attempt (ends in …abcd)",
    );
    expect(step(t.rotation, "gen").state).toBe("pending");
    expect(t.effects).toEqual([]);
  });

  it("never changes the rotation it is given", () => {
    const { r, infos } = setup([{ id: "a" }]);
    const before = JSON.stringify(r);
    transition(r, { type: "begin" }, ctxFor(infos));
    expect(JSON.stringify(r)).toBe(before);
  });
});

describe("what each step kind asks", () => {
  it("collect: a value, 'added it myself', or cancel; no deadline", () => {
    const { r, infos } = setup([{ id: "c", interaction: "collect", prompt: "Paste the PAT" }]);
    const t = ok(transition(r, { type: "begin" }, ctxFor(infos)));
    expect(t.rotation.awaiting).toMatchObject({
      kind: "collect",
      prompt: "Paste the PAT",
      accepts: ["collect", "added_myself", "cancel"],
    });
    expect(t.rotation.awaiting!.expiresAt).toBeUndefined();
    expect(t.rotation.state).toBe("awaiting_operator");
    expect(step(t.rotation, "c").state).toBe("awaiting");
  });

  it("manual: Done or cancel, with the point-of-no-return warning when destructive", () => {
    const plain = setup([{ id: "m", interaction: "manual", prompt: "Revoke it" }]);
    expect(ok(transition(plain.r, { type: "begin" }, ctxFor(plain.infos))).rotation.awaiting).toMatchObject({
      kind: "manual",
      prompt: "Revoke it",
      accepts: ["done", "cancel"],
    });
    const destructive = setup([{ id: "m", interaction: "manual", prompt: "Revoke it", destructive: true }]);
    const asked = ok(transition(destructive.r, { type: "begin" }, ctxFor(destructive.infos))).rotation.awaiting!;
    expect(asked.prompt).toMatch(
      /^Revoke it\n\nThis cannot be undone: once you press Done, the rotation can no longer be aborted\.$/,
    );
  });

  it("confirm: Confirm or cancel, expiring after CONFIRM_TIMEOUT", () => {
    const { r, infos } = setup([{ id: "w", interaction: "confirm", prompt: "Maintenance window?" }]);
    const t = ok(transition(r, { type: "begin" }, ctxFor(infos)));
    expect(t.rotation.awaiting).toMatchObject({
      kind: "confirm",
      accepts: ["go", "cancel"],
      expiresAt: "2026-11-27T10:15:00.000Z",
    });
    expect(t.effects).toEqual([
      { type: "schedule_expiry", nonce: t.rotation.awaiting!.nonce, at: "2026-11-27T10:15:00.000Z" },
    ]);
  });

  it("a destructive automatic step asks first and sets the point of no return only when it runs", () => {
    const { r, infos } = setup([{ id: "promote", destructive: true, title: "Rename" }]);
    const asked = run(r, infos, { type: "begin" });
    expect(asked.r.awaiting).toMatchObject({ kind: "destructive", accepts: ["go", "cancel"] });
    expect(asked.r.awaiting!.prompt).toBe(
      "Rename. This cannot be undone, and the rotation can no longer be aborted after it.",
    );
    expect(asked.r.pointOfNoReturn).toBeUndefined();
    const confirmed = run(asked.r, infos, answer("go"));
    expect(confirmed.r.pointOfNoReturn).toEqual({ stepId: "promote", at: NOW });
    expect(step(confirmed.r, "promote")).toMatchObject({ state: "running", confirmedBy: ALICE });
    expect(effects(confirmed.t)).toEqual(["run_step"]);
  });

  it("after the point of no return, no prompt offers Cancel or Abort", () => {
    const { r, infos } = setup(
      [
        { id: "a", state: "done" },
        { id: "m", interaction: "manual", prompt: "Revoke", destructive: true },
        { id: "b" },
      ],
      { pointOfNoReturn: { stepId: "a", at: NOW } },
    );
    const asked = run(r, infos, { type: "begin" });
    expect(asked.r.awaiting!.accepts).toEqual(["done"]);
    expect(asked.r.awaiting!.prompt).toBe("Revoke");
    const failedAfter = run(asked.r, infos, answer("done"), failed("m"));
    expect(failedAfter.r.awaiting!.accepts).toEqual(["retry", "mark_done"]);
  });
});

describe("step outcomes", () => {
  it("done and skipped move on; notes, commits and the owner notice are recorded", () => {
    const { r, infos } = setup([
      { id: "a" },
      { id: "commit", kind: "git_commit" },
      { id: "owner", kind: "notify_owner" },
    ]);
    const afterA = run(
      r,
      infos,
      { type: "begin" },
      done("a", { outcome: { status: "skipped", note: "already there" } }),
    );
    expect(step(afterA.r, "a")).toMatchObject({ state: "skipped", message: "already there", endedAt: NOW });
    expect(types(afterA.t)).toEqual(["step_finished", "step_started"]);
    const afterCommit = run(
      afterA.r,
      infos,
      done("commit", { outcome: { status: "done", note: "commit abc1234", commit: "abc1234" } }),
    );
    expect(afterCommit.r.commit).toBe("abc1234");
    const end = run(afterCommit.r, infos, done("owner"));
    expect(types(end.t)).toEqual(["step_finished", "owner_notified", "completed"]);
    expect(end.r).toMatchObject({ state: "completed", endedAt: NOW, message: "vault_x rotated, commit abc1234" });
    expect(effects(end.t)).toEqual(["release_lock"]);
  });

  it("measures a declared outage from the end of its first step to the end of its last, and says between which", () => {
    const { r, infos } = setup([{ id: "token" }, { id: "deploy" }, { id: "alert" }]);
    const outage = { what: "the notification bot", from: "token", to: "alert" };
    const at = (iso: string) => ctxFor(infos, { now: iso, outage });
    let current = deepFreeze(ok(transition(r, { type: "begin" }, at(NOW))).rotation);
    current = deepFreeze(ok(transition(current, done("token"), at("2026-11-27T10:00:01.000Z"))).rotation);
    current = deepFreeze(ok(transition(current, done("deploy"), at("2026-11-27T10:00:30.000Z"))).rotation);
    expect(current.outage).toBeUndefined();
    const ended = ok(transition(current, done("alert"), at("2026-11-27T10:00:43.500Z"))).rotation;
    expect(ended.outage).toEqual({
      what: "the notification bot",
      seconds: 42.5,
      measured: "from “Step token” to the end of “Step alert”",
    });
  });

  it("a failure asks Retry, Mark done or Abort, with the reason", () => {
    const { r, infos } = setup([{ id: "a", title: "Deploy" }, { id: "b" }]);
    const { r: after, t } = run(r, infos, { type: "begin" }, failed("a", "ansible-playbook exited with code 2"));
    expect(step(after, "a")).toMatchObject({ state: "failed", message: "ansible-playbook exited with code 2" });
    expect(after.state).toBe("failed");
    expect(after.awaiting).toMatchObject({ kind: "failed", accepts: ["retry", "mark_done", "abort"] });
    expect(after.awaiting!.prompt).toBe(
      [
        "Deploy failed: ansible-playbook exited with code 2",
        "",
        "🔁 Retry runs it again.",
        "☑️ Mark done skips it, as if it had succeeded: press it only if you did it or checked it yourself.",
        "⏹ Abort stops the rotation and rolls back.",
      ].join("\n"),
    );
    expect(types(t)).toEqual(["step_failed", "awaiting"]);
  });

  it("a step whose executor threw fails like any failure: announced, and Retry, Mark done or Abort with the message", () => {
    const { r, infos } = setup([{ id: "a", title: "Deploy" }, { id: "b" }]);
    const threw = (cancelled: boolean): Input => ({
      type: "failed_unexpectedly",
      recordId: "a",
      message: "EIO",
      cancelled,
      ms: 5,
    });
    const { r: after, t } = run(r, infos, { type: "begin" }, threw(false));
    expect(step(after, "a")).toMatchObject({
      state: "failed",
      message: "unexpected error: EIO (the rotabot log has the details)",
    });
    expect(after.state).toBe("failed");
    expect(types(t)).toEqual(["step_failed", "awaiting"]);
    expect(after.awaiting).toMatchObject({ kind: "failed", accepts: ["retry", "mark_done", "abort"] });
    expect(after.awaiting!.prompt).toMatch(
      /^Deploy failed: unexpected error: EIO \(the rotabot log has the details\)\n\n🔁 Retry/,
    );
    expect(step(run(after, infos, answer("retry")).r, "a").state).toBe("running");
    // Past the point of no return there is no Abort; during a shutdown it is an interruption.
    const past = setup([{ id: "a" }], { pointOfNoReturn: { stepId: "x", at: NOW } });
    expect(run(past.r, past.infos, { type: "begin" }, threw(false)).r.awaiting!.accepts).toEqual([
      "retry",
      "mark_done",
    ]);
    expect(run(r, infos, { type: "begin" }, threw(true)).r.state).toBe("interrupted");
  });

  it("a step cancelled by a shutdown is interrupted, not failed, and asks nothing", () => {
    const { r, infos } = setup([{ id: "a" }, { id: "b" }]);
    const { r: after, t } = run(r, infos, { type: "begin" }, failed("a", "was cancelled and stopped", true));
    expect(step(after, "a").state).toBe("interrupted");
    expect(after.state).toBe("interrupted");
    expect(after.awaiting).toBeUndefined();
    expect(types(t)).toEqual(["interrupted"]);
  });

  it("an outcome for a step that is not running is ignored (a late or repeated report)", () => {
    const { r, infos } = setup([{ id: "a" }, { id: "b" }]);
    const { r: after } = run(r, infos, { type: "begin" }, done("a"));
    const again = ok(transition(after, done("a"), ctxFor(infos)));
    expect(again.notices).toEqual([]);
    expect(again.rotation.steps).toEqual(after.steps);
  });

  it("during a shutdown, no further step starts: the rotation stops between steps", () => {
    const { r, infos } = setup([
      { id: "a", title: "First" },
      { id: "b", title: "Second" },
    ]);
    const started = run(r, infos, { type: "begin" }).r;
    const t = ok(transition(started, done("a"), ctxFor(infos, { stopping: true })));
    expect(step(t.rotation, "b").state).toBe("pending");
    expect(t.rotation).toMatchObject({
      state: "interrupted",
      message: "rotabot stopped before “Second”; nothing is running",
    });
    expect(types(t)).toEqual(["step_finished", "interrupted"]);
  });

  it("a step the runbook no longer has fails the rotation with the way out", () => {
    const { r, infos } = setup([{ id: "a" }, { id: "gone" }]);
    infos.delete("gone");
    const { r: after } = run(r, infos, { type: "begin" }, done("a"));
    expect(after.state).toBe("failed");
    expect(after.message).toMatch(/step gone is no longer in the runbook; restore the runbook/);
  });
});

describe("answers", () => {
  const confirmSetup = () => {
    const { r, infos } = setup([{ id: "w", interaction: "confirm", prompt: "Window?" }, { id: "a" }]);
    return { r: run(r, infos, { type: "begin" }).r, infos };
  };

  it("Confirm on a confirm step marks it done by whom, and goes on", () => {
    const { r, infos } = confirmSetup();
    const { r: after, t } = run(r, infos, answer("go"));
    expect(step(after, "w")).toMatchObject({ state: "done", message: "confirmed by @alice", confirmedBy: ALICE });
    expect(after.awaiting).toBeUndefined();
    expect(types(t)).toEqual(["answered", "step_started"]);
  });

  it("refuses a stale nonce, an expired prompt, an answer the prompt does not take, and anyone but the initiator", () => {
    const { r, infos } = confirmSetup();
    const ctx = ctxFor(infos);
    const stale = transition(r, { type: "answer", nonce: "00000000", response: "go", actor: ALICE }, ctx);
    expect(stale).toMatchObject({ ok: false, reason: "stale" });
    const late = transition(r, answer("go")(r), { ...ctx, now: LATER });
    expect(late).toMatchObject({
      ok: false,
      reason: "expired",
      message: `This confirmation expired. Send /resume ${r.id} to be asked again.`,
    });
    const expired = run(r, infos, { type: "expire", nonce: r.awaiting!.nonce }).r;
    expect(transition(expired, answer("go")(expired), ctx)).toMatchObject({ ok: false, reason: "expired" });
    expect(transition(r, answer("retry")(r), ctx)).toMatchObject({
      ok: false,
      reason: "invalid",
      message: "this prompt accepts go, cancel",
    });
    expect(transition(r, answer("go", BOB)(r), ctx)).toMatchObject({
      ok: false,
      reason: "not_allowed",
      message: "Only @alice, who started this rotation, can answer.",
    });
  });

  it("a second press of the same button is stale: the step runs once", () => {
    const { r, infos } = confirmSetup();
    const first = answer("go")(r);
    const after = ok(transition(r, first, ctxFor(infos))).rotation;
    expect(transition(after, first, ctxFor(infos))).toMatchObject({ ok: false, reason: "stale" });
  });

  it("two-person rule: a destructive step is confirmed by an approver other than the initiator; the initiator may still cancel", () => {
    const { r, infos } = setup([{ id: "promote", destructive: true }]);
    const asked = run(r, infos, { type: "begin" }).r;
    const approval = { requireSecondApprover: true, approverIds: ["tg:2"] };
    const ctx = ctxFor(infos, { approval });
    expect(transition(asked, answer("go", ALICE)(asked), ctx)).toMatchObject({
      ok: false,
      reason: "not_allowed",
      message: "A second person must approve this step: ask someone in APPROVER_IDS to press Confirm.",
    });
    expect(transition(asked, answer("go", CAROL)(asked), ctx)).toMatchObject({
      ok: false,
      message: "Only an approver (APPROVER_IDS) can approve this step.",
    });
    const approved = ok(transition(asked, answer("go", BOB)(asked), ctx));
    expect(step(approved.rotation, "promote")).toMatchObject({ state: "running", confirmedBy: BOB });
    expect(refusalFor(asked, ALICE, "cancel", approval)).toBeUndefined();
  });

  it("two-person rule with an approver asked by name: only they approve until a prompt for them expires", () => {
    const { r, infos } = setup([{ id: "promote", destructive: true }], { approver: { id: "tg:3", name: "@carol" } });
    const approval = { requireSecondApprover: true, approverIds: ["tg:2", "tg:3"] };
    const ctx = (over: Partial<TransitionContext> = {}) => ctxFor(infos, { approval, ...over });
    const asked = ok(transition(r, { type: "begin" }, ctx())).rotation;
    expect(transition(asked, answer("go", ALICE)(asked), ctx())).toMatchObject({
      ok: false,
      message: "A second person must approve this step: ask @carol to press Confirm.",
    });
    // Bob is an approver, but Carol was asked.
    expect(transition(asked, answer("go", BOB)(asked), ctx())).toMatchObject({
      ok: false,
      reason: "not_allowed",
      message:
        "@carol was asked to approve this rotation, so only they can: if they cannot, let this prompt expire (CONFIRM_TIMEOUT), then /resume, and any approver can.",
    });
    expect(step(ok(transition(asked, answer("go", CAROL)(asked), ctx())).rotation, "promote").confirmedBy).toEqual(
      CAROL,
    );
    // Carol does not answer: the prompt expires, the name lapses, and after /resume Bob may approve.
    const expired = ok(
      transition(asked, { type: "expire", nonce: asked.awaiting!.nonce }, ctx({ now: LATER })),
    ).rotation;
    expect(expired.approver).toEqual({ id: "tg:3", name: "@carol", lapsed: LATER });
    const resumed = ok(transition(expired, { type: "resume" }, ctx({ now: LATER }))).rotation;
    expect(refusalFor(resumed, ALICE, "go", approval)).toBe(
      "A second person must approve this step: ask someone in APPROVER_IDS to press Confirm.",
    );
    expect(
      step(ok(transition(resumed, answer("go", BOB)(resumed), ctx({ now: LATER }))).rotation, "promote"),
    ).toMatchObject({
      confirmedBy: BOB,
    });
  });

  it("a failed step's card, which never expires, is open to any approver once it waited CONFIRM_TIMEOUT for the named one", () => {
    const { r, infos } = setup([{ id: "deploy" }], { approver: { id: "tg:3", name: "@carol" } });
    const approval = { requireSecondApprover: true, approverIds: ["tg:2", "tg:3"] };
    const broken = ok(transition(r, { type: "begin" }, ctxFor(infos, { approval }))).rotation;
    const asked = ok(transition(broken, failed("deploy"), ctxFor(infos, { approval }))).rotation;
    expect(asked.awaiting).toMatchObject({ kind: "failed", since: NOW });
    expect(transition(asked, answer("mark_done", BOB)(asked), ctxFor(infos, { approval }))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^@carol was asked to approve this rotation/) as string,
    });
    const later = ok(transition(asked, answer("mark_done", BOB)(asked), ctxFor(infos, { approval, now: LATER })));
    expect(step(later.rotation, "deploy").markedDoneBy).toEqual(BOB);
  });

  it("an approver asked by name does not lapse when a prompt that needs no second person expires", () => {
    const { r, infos } = setup([{ id: "ok", interaction: "confirm" }], { approver: { id: "tg:3", name: "@carol" } });
    const approval = { requireSecondApprover: true, approverIds: ["tg:3"] };
    const asked = ok(transition(r, { type: "begin" }, ctxFor(infos, { approval }))).rotation;
    const expired = ok(
      transition(asked, { type: "expire", nonce: asked.awaiting!.nonce }, ctxFor(infos, { approval })),
    );
    expect(expired.rotation.approver?.lapsed).toBeUndefined();
  });

  it("two-person rule: Done on a destructive manual step, Mark done on a failure and a gate need an approver too", () => {
    const approval = { requireSecondApprover: true, approverIds: ["tg:2"] };
    const manual = setup([{ id: "m", interaction: "manual", prompt: "Revoke", destructive: true }]);
    const revoke = run(manual.r, manual.infos, { type: "begin" }).r;
    expect(refusalFor(revoke, ALICE, "done", approval)).toMatch(/press Done\.$/);
    expect(refusalFor(revoke, BOB, "done", approval)).toBeUndefined();
    const plain = setup([{ id: "a" }, { id: "b" }]);
    const broken = run(plain.r, plain.infos, { type: "begin" }, failed("a")).r;
    expect(refusalFor(broken, ALICE, "mark_done", approval)).toMatch(/press Mark done\.$/);
    expect(refusalFor(broken, ALICE, "retry", approval)).toBeUndefined();
    const gate = setup([
      { id: "gate@production", kind: "gate", interaction: "gate", prompt: "Roll out to production?" },
    ]);
    const atGate = run(gate.r, gate.infos, { type: "begin" }).r;
    expect(atGate.awaiting).toMatchObject({ kind: "gate", accepts: ["go", "cancel"] });
    expect(atGate.awaiting!.expiresAt).toBeDefined();
    expect(refusalFor(atGate, ALICE, "go", approval)).toMatch(/A second person must approve/);
    const through = ok(transition(atGate, answer("go", BOB)(atGate), ctxFor(gate.infos, { approval })));
    expect(step(through.rotation, "gate@production")).toMatchObject({ state: "done", message: "confirmed by @bob" });
  });

  it("break-glass: the initiator alone may answer where two are needed, with a reason that is announced", () => {
    const approval = { requireSecondApprover: true, approverIds: ["tg:2"] };
    const { r, infos } = setup([{ id: "promote", destructive: true }]);
    const asked = run(r, infos, { type: "begin" }).r;
    const alone = transition(
      asked,
      { ...answer("go")(asked), breakGlass: "pager outage, no approver reachable" } as Input,
      ctxFor(infos, { approval }),
    );
    expect(ok(alone).notices[0]).toEqual({
      type: "break_glass",
      recordId: "promote",
      response: "go",
      actor: ALICE,
      reason: "pager outage, no approver reachable",
    });
    expect(step(ok(alone).rotation, "promote").state).toBe("running");
    expect(
      transition(asked, { ...answer("go", CAROL)(asked), breakGlass: "me too" } as Input, ctxFor(infos, { approval })),
    ).toMatchObject({ reason: "not_allowed" });
  });

  it("Done on a manual step runs it (its check), recording who said so", () => {
    const { r, infos } = setup([{ id: "m", interaction: "manual", prompt: "Revoke" }]);
    const { r: after, t } = run(r, infos, { type: "begin" }, answer("done"));
    expect(step(after, "m")).toMatchObject({ state: "running", confirmedBy: ALICE, attempts: 1 });
    expect(effects(t)).toEqual(["run_step"]);
  });

  it("Retry runs the failed step again; Mark done skips it, and passes no point of no return for an ordinary step", () => {
    const { r, infos } = setup([{ id: "a" }, { id: "b" }]);
    const failedOnce = run(r, infos, { type: "begin" }, failed("a")).r;
    const retried = run(failedOnce, infos, answer("retry")).r;
    expect(step(retried, "a")).toMatchObject({ state: "running", attempts: 2 });
    expect(step(retried, "a").message).toBeUndefined();
    const marked = run(failedOnce, infos, answer("mark_done")).r;
    expect(step(marked, "a")).toMatchObject({ state: "done", message: "marked done by @alice" });
    expect(step(marked, "b").state).toBe("running");
    expect(marked.pointOfNoReturn).toBeUndefined();
  });

  it("Mark done on a failed destructive step passes the point of no return", () => {
    const { r, infos } = setup([{ id: "m", interaction: "manual", prompt: "Revoke", destructive: true }, { id: "b" }]);
    const asked = run(r, infos, { type: "begin" }, answer("done")).r;
    expect(asked.pointOfNoReturn).toEqual({ stepId: "m", at: NOW });
  });

  it("reuse: the generate and collect steps are skipped, and the rotation goes on with the vault's <key>_new", () => {
    const { r, infos } = setup([
      { id: "gen", kind: "generate" },
      { id: "add", kind: "vault_add_new" },
    ]);
    const asked = run(r, infos, { type: "begin", leftoverNewEnding: "abcd" }).r;
    const { r: after, t } = run(asked, infos, answer("reuse_new"));
    expect(step(after, "gen")).toMatchObject({
      state: "skipped",
      message: "reusing vault_x_new from an earlier attempt (@alice)",
    });
    expect(step(after, "add").state).toBe("running");
    expect(types(t)).toEqual(["answered", "step_finished", "step_started"]);
  });

  it("a taken value finishes the collect step; a refused one asks again with a new nonce", () => {
    const { r, infos } = setup([{ id: "c", interaction: "collect", prompt: "Paste" }, { id: "add" }]);
    const asked = run(r, infos, { type: "begin" }).r;
    const nonce = asked.awaiting!.nonce;
    const refused = run(asked, infos, {
      type: "value_refused",
      nonce,
      response: "collect",
      actor: ALICE,
      prompt: "That does not look like a PAT. Paste",
      reason: "it does not look like a PAT",
    }).r;
    expect(refused.awaiting).toMatchObject({ kind: "collect", prompt: "That does not look like a PAT. Paste" });
    expect(refused.awaiting!.nonce).not.toBe(nonce);
    const taken = run(refused, infos, (x) => ({
      type: "value_taken",
      nonce: x.awaiting!.nonce,
      response: "collect",
      actor: ALICE,
      note: "received from @alice, ends in …wxyz",
      ending: "wxyz",
    }));
    expect(step(taken.r, "c")).toMatchObject({
      state: "done",
      attempts: 1,
      message: "received from @alice, ends in …wxyz",
    });
    expect(types(taken.t)).toEqual(["answered", "value_checked", "step_finished", "step_started"]);
    expect(taken.r.endings).toEqual({ new: "wxyz" });
  });
});

/** A rollback step's start or end, as the driver reports it. */
const rollbackStep = (
  id: string,
  state: RollbackStepRecord["state"],
  message?: string,
): Extract<Input, { type: "rollback_step" }> => ({ type: "rollback_step", id, state, ...(message ? { message } : {}) });
const rolledBack = (problems: string[] = []): Input => ({ type: "rolled_back", actor: ALICE, report: { problems } });
/** Every planned rollback step ran and succeeded, then the rollback ended. */
const undoneAll: ((r: Rotation) => Input)[] = [
  (r) => rollbackStep(r.rollback!.steps[0]!.id, "done"),
  (r) => rollbackStep(r.rollback!.steps.at(-1)!.id, "done"),
  () => rolledBack(),
];

/** A rotation whose rollback dropped `<key>_new` and then failed to re-deploy in staging. */
/** An abort whose rollback failed: by default its re-deploy; with `problems`, a check after a re-deploy that succeeded. */
function stuckRollback(problems: string[] = []) {
  const { r, infos } = setup([{ id: "a" }]);
  const stuck = run(
    r,
    infos,
    { type: "begin" },
    { type: "abort", actor: ALICE },
    failed("a", "cancelled", true),
    rollbackStep("vault_drop_new", "done"),
    problems.length > 0
      ? rollbackStep("redeploy@staging", "done")
      : rollbackStep("redeploy@staging", "failed", "exited with code 2"),
    rolledBack(problems),
  ).r;
  return { r, infos, stuck };
}

describe("abort", () => {
  it("is journaled at once as aborting, with the rollback it will run; each rollback step is journaled as it runs; the end is aborted with what was undone", () => {
    const { r, infos } = setup([{ id: "a" }, { id: "b" }]);
    const runningA = run(r, infos, { type: "begin" }).r;
    const begun = ok(transition(runningA, { type: "abort", actor: ALICE }, ctxFor(infos)));
    expect(begun.effects).toEqual([{ type: "cancel_running" }, { type: "roll_back", actor: ALICE }]);
    expect(begun.notices).toEqual([{ type: "aborting", actor: ALICE, retry: false }]);
    expect(begun.rotation).toMatchObject({ state: "aborting", aborting: { by: ALICE, at: NOW } });
    expect(begun.rotation.rollback).toMatchObject({ by: ALICE, touched: true });
    expect(begun.rotation.rollback!.steps.map((s) => [s.id, s.state])).toEqual([
      ["vault_drop_new", "pending"],
      ["redeploy@staging", "pending"],
    ]);
    expect(transition(begun.rotation, { type: "abort", actor: ALICE }, ctxFor(infos))).toMatchObject({
      ok: false,
      reason: "busy",
      message: expect.stringContaining("the rotation is being aborted") as string,
    });
    const cancelled = run(deepFreeze(begun.rotation), infos, failed("a", "was cancelled and stopped", true));
    expect(step(cancelled.r, "a").state).toBe("interrupted");
    expect(cancelled.r.state).toBe("aborting");
    expect(types(cancelled.t)).toEqual([]);
    const dropping = run(cancelled.r, infos, rollbackStep("vault_drop_new", "running"));
    expect(dropping.r.rollback!.steps[0]!.state).toBe("running");
    expect(ok(dropping.t).notices).toEqual([{ type: "rollback_step", id: "vault_drop_new" }]);
    const ended = run(
      dropping.r,
      infos,
      rollbackStep("vault_drop_new", "done", "vault_x_new is no longer in the vault"),
      rollbackStep("redeploy@staging", "running"),
      rollbackStep("redeploy@staging", "done"),
      rolledBack(),
    );
    expect(ended.r).toMatchObject({
      state: "aborted",
      endedAt: NOW,
      message:
        "aborted by @alice; vault_x_new removed from the vault; rolled back: Re-deploy (staging); every service is back on the old value",
    });
    expect(ended.r.aborting).toBeUndefined();
    expect(effects(ended.t)).toEqual(["release_lock"]);
    expect(types(ended.t)).toEqual(["aborted"]);
  });

  it("says the new value was removed only when there was one, and 'nothing else changed' only when no service was touched", () => {
    const { r, infos } = setup([{ id: "w", interaction: "confirm", prompt: "Outage?" }, { id: "a" }]);
    const asked = run(r, infos, { type: "begin" }).r;
    const nothing = run(asked, infos, answer("cancel"), rollbackStep("vault_drop_new", "skipped"), rolledBack()).r;
    expect(nothing.message).toBe(
      "aborted by @alice; nothing had changed: no new value was in the vault and no service was touched",
    );
    const dropped = run(asked, infos, answer("cancel"), rollbackStep("vault_drop_new", "done"), rolledBack()).r;
    expect(dropped.message).toBe("aborted by @alice; vault_x_new removed from the vault, nothing else changed");
  });

  it("a rollback that fails keeps the rotation in flight, says what failed where and how to do it by hand, and asks Retry or Mark done", () => {
    const { r, infos } = setup([{ id: "a" }]);
    const aborting = run(
      r,
      infos,
      { type: "begin" },
      { type: "abort", actor: ALICE },
      failed("a", "cancelled", true),
    ).r;
    const { r: stuck, t } = run(
      aborting,
      infos,
      rollbackStep("vault_drop_new", "done"),
      rollbackStep("redeploy@staging", "failed", "ansible-playbook exited with code 2"),
      rolledBack(),
    );
    expect(stuck.state).toBe("rollback_failed");
    expect(stuck.endedAt).toBeUndefined();
    expect(stuck.aborting).toBeUndefined();
    // Still in flight: its lock, the vault claim and the deploy marker stay.
    expect(effects(t)).toEqual([]);
    expect(types(t)).toEqual(["rollback_failed", "awaiting"]);
    expect(stuck.message).toBe(
      `aborted by @alice, but the rollback failed, so rotation ${r.id} stays in flight (rollback failed): Re-deploy in staging failed: ansible-playbook exited with code 2; by hand: ansible-playbook -i staging.yml deploy.yml (it renders vault_x, the old value, once vault_x_new is gone). Run the rollback again, every step from the first, with rotabot abort ${r.id} --retry-rollback (or 🔁 Retry on the chat card); once they are done by hand, ☑️ Mark done (rotabot resume ${r.id}) ends it as aborted`,
    );
    expect(stuck.awaiting).toMatchObject({ kind: "rollback_failed", accepts: ["retry", "mark_done"] });
    expect(stuck.awaiting!.expiresAt).toBeUndefined();
    expect(stuck.awaiting!.prompt).toContain(
      "✘ Re-deploy in staging failed: ansible-playbook exited with code 2; by hand: ansible-playbook -i staging.yml deploy.yml",
    );
    expect(stuck.awaiting!.prompt).toContain(`on the shell: rotabot abort ${r.id} --retry-rollback`);
    // A plain abort does not run it again by surprise; it says how.
    expect(transition(stuck, { type: "abort", actor: ALICE }, ctxFor(infos))).toMatchObject({
      ok: false,
      reason: "refused",
      message: expect.stringContaining(
        `rotabot abort ${r.id} --retry-rollback runs the whole rollback again`,
      ) as string,
    });
    // Resume asks again (a fresh nonce), so the shell can answer it too.
    const reasked = run(stuck, infos, { type: "resume" }).r;
    expect(reasked.awaiting).toMatchObject({ kind: "rollback_failed" });
    expect(reasked.awaiting!.nonce).not.toBe(stuck.awaiting!.nonce);
  });

  it("a retried rollback runs every step again from the first (but the removal of _new done) and ends aborted; the retry flag of abort does the same", () => {
    const { infos, stuck } = stuckRollback();
    for (const retry of [answer("retry"), { type: "abort" as const, actor: BOB, retryRollback: true }]) {
      const again = run(stuck, infos, retry);
      expect(again.r.state).toBe("aborting");
      expect(again.r.awaiting).toBeUndefined();
      expect(again.r.rollback!.steps.map((s) => s.state)).toEqual(["done", "pending"]);
      expect(ok(again.t).effects).toEqual([{ type: "roll_back", actor: typeof retry === "function" ? ALICE : BOB }]);
      expect(types(again.t)).toEqual(["aborting"]);
      const ended = run(
        again.r,
        infos,
        rollbackStep("redeploy@staging", "running"),
        rollbackStep("redeploy@staging", "done"),
        rolledBack(),
      );
      expect(ended.r.state).toBe("aborted");
      expect(ended.r.message).toBe(
        "aborted by @alice; vault_x_new removed from the vault; rolled back: Re-deploy (staging); every service is back on the old value",
      );
      expect(effects(ended.t)).toEqual(["release_lock"]);
    }
  });

  it("a retried rollback runs again the steps that succeeded before the repair, not only the failed ones", () => {
    // NATS: the render succeeded on a broken config and the reload after it failed; once repaired,
    // the reload alone would meet the file rendered before the repair.
    const { infos, stuck } = stuckRollback(["the reload after it failed"]);
    expect(stuck.state).toBe("rollback_failed");
    const again = run(stuck, infos, answer("retry")).r;
    expect(again.rollback!.steps.map((s) => [s.id, s.state])).toEqual([
      ["vault_drop_new", "done"],
      ["redeploy@staging", "pending"],
    ]);
  });

  it("Mark done on a failed rollback ends it aborted, saying who did the rest by hand", () => {
    const { infos, stuck } = stuckRollback();
    const ended = run(stuck, infos, answer("mark_done"));
    expect(ended.r).toMatchObject({
      state: "aborted",
      message: "aborted by @alice; the rest of the rollback was done by hand, says @alice",
    });
    expect(effects(ended.t)).toEqual(["release_lock"]);
    expect(types(ended.t)).toEqual(["aborted"]);
  });

  it("a problem besides the steps (no rollback declared) also keeps the rotation in flight", () => {
    const { r, infos } = setup([{ id: "a" }]);
    const aborting = run(r, infos, { type: "begin" }, { type: "abort", actor: ALICE }).r;
    const { r: ended } = run(
      aborting,
      infos,
      rollbackStep("vault_drop_new", "done"),
      rollbackStep("redeploy@staging", "done"),
      rolledBack(["Re-deploy changed services and this procedure declares no rollback"]),
    );
    expect(ended.state).toBe("rollback_failed");
    expect(ended.message).toContain(
      "stays in flight (rollback failed): Re-deploy changed services and this procedure declares no rollback.",
    );
  });

  it("cancel on a prompt is an abort, announced as the answer", () => {
    const { r, infos } = setup([{ id: "w", interaction: "confirm", prompt: "Window?" }]);
    const asked = run(r, infos, { type: "begin" }).r;
    const t = ok(transition(asked, answer("cancel")(asked), ctxFor(infos)));
    expect(types(t)).toEqual(["answered", "aborting"]);
    expect(effects(t)).toEqual(["cancel_running", "roll_back"]);
    expect(t.rotation.awaiting).toBeUndefined();
  });

  it("is refused after the point of no return, and after the end", () => {
    const { r, infos } = setup([{ id: "a", destructive: true, title: "Rename" }, { id: "b" }]);
    const past = run(r, infos, { type: "begin" }, answer("go")).r;
    expect(transition(past, { type: "abort", actor: ALICE }, ctxFor(infos))).toMatchObject({
      ok: false,
      reason: "refused",
      message: expect.stringContaining('abort is no longer possible: "Rename" has run and cannot be undone') as string,
    });
    const { r: ended } = setup([{ id: "a", state: "done" }], { state: "completed" });
    expect(transition(ended, { type: "abort", actor: ALICE }, ctxFor(infos))).toMatchObject({
      ok: false,
      message: `rotation ${ended.id} has already completed`,
    });
  });
});

describe("credentials the operator created outside rotabot (issue 22)", () => {
  const collectSetup = () => {
    const built = setup([{ id: "pat", interaction: "collect", kind: "collect", prompt: "Paste the PAT" }, { id: "a" }]);
    built.infos.set("pat", {
      interaction: "collect",
      prompt: "Paste the PAT",
      revokeIfUnused: "revoke PAT {ending} in the SignalWire space",
    });
    return built;
  };
  const taken =
    (ending: string) =>
    (r: Rotation): Input => ({
      type: "value_taken",
      nonce: r.awaiting!.nonce,
      response: "collect",
      actor: ALICE,
      note: `received, ends in …${ending}`,
      ending,
    });
  const refused =
    (ending?: string) =>
    (r: Rotation): Input => ({
      type: "value_refused",
      nonce: r.awaiting!.nonce,
      response: "collect",
      actor: ALICE,
      prompt: "Paste the PAT",
      reason: "another rotation has changed the vault",
      ...(ending ? { ending } : {}),
    });

  it("lists every one at the abort, by its own last 4 characters, including one refused after it was created", () => {
    const { r, infos } = collectSetup();
    const after = run(r, infos, { type: "begin" }, refused("3c6c"), refused(), taken("9f1a")).r;
    expect(after.created).toEqual([
      { stepId: "pat", ending: "3c6c", revoke: "revoke PAT …3c6c in the SignalWire space", at: NOW, state: "unused" },
      { stepId: "pat", ending: "9f1a", revoke: "revoke PAT …9f1a in the SignalWire space", at: NOW, state: "unused" },
    ]);
    const aborted = run(after, infos, { type: "abort", actor: ALICE }, failed("a", "cancelled", true), ...undoneAll).r;
    expect(aborted.state).toBe("aborted");
    expect(aborted.message).toMatch(
      /\n\n⚠️ Created for this rotation and still valid: revoke PAT …3c6c in the SignalWire space; revoke PAT …9f1a in the SignalWire space\. \/status \(rotabot status\) lists them until someone says revoked\.$/,
    );
  });

  it("Revoked is taken once the rotation ended, records who, and is stale after; never while it is in flight", () => {
    const { r, infos } = collectSetup();
    const after = run(r, infos, { type: "begin" }, taken("9f1a")).r;
    expect(transition(after, { type: "revoked", actor: BOB }, ctxFor(infos))).toMatchObject({
      ok: false,
      reason: "refused",
    });
    const aborted = run(after, infos, { type: "abort", actor: ALICE }, failed("a", "cancelled", true), ...undoneAll).r;
    const marked = run(aborted, infos, { type: "revoked", actor: BOB });
    expect(marked.r.created).toEqual([expect.objectContaining({ state: "revoked", revoked: { by: "@bob", at: NOW } })]);
    expect(ok(marked.t).notices).toEqual([{ type: "revoked", actor: BOB }]);
    expect(marked.r.state).toBe("aborted");
    expect(transition(marked.r, { type: "revoked", actor: BOB }, ctxFor(infos))).toMatchObject({ reason: "stale" });
  });

  it("a completed rotation keeps the one it uses, and lists the one it replaced", () => {
    const { r, infos } = collectSetup();
    const done_ = run(r, infos, { type: "begin" }, refused("3c6c"), taken("9f1a"), done("a")).r;
    expect(done_.state).toBe("completed");
    expect(done_.created!.map((c) => [c.ending, c.state])).toEqual([
      ["3c6c", "unused"],
      ["9f1a", "in_use"],
    ]);
    expect(done_.message).toBe(
      "vault_x rotated\n\n⚠️ Created for this rotation and still valid: revoke PAT …3c6c in the SignalWire space. /status (rotabot status) lists it until someone says revoked.",
    );
  });

  it("a value without revokeIfUnused in the runbook (a generated one, Telegram's) is not listed", () => {
    const { r, infos } = setup([{ id: "tok", interaction: "collect", kind: "collect", prompt: "Paste" }, { id: "a" }]);
    expect(run(r, infos, { type: "begin" }, taken("abcd")).r.created).toBeUndefined();
  });
});

describe("Telegram: confirming the outage is not the revoke (issue 22)", () => {
  const telegram = () => {
    const built = setup([
      { id: "outage", interaction: "confirm", prompt: "The bot will be down" },
      { id: "revoke", interaction: "manual", kind: "manual", destructive: true, title: "Revoke the old token" },
      { id: "token", interaction: "collect", kind: "collect", prompt: "Paste the new token" },
    ]);
    built.infos.set("revoke", {
      interaction: "manual",
      prompt: "Send /revoke in @BotFather",
      doneLabel: "I revoked it",
    });
    return built;
  };

  it("after the outage is confirmed, Cancel is still offered and aborts; the revoke card says what its button means", () => {
    const { r, infos } = telegram();
    const confirmed = run(r, infos, { type: "begin" }, answer("go")).r;
    expect(confirmed.pointOfNoReturn).toBeUndefined();
    expect(confirmed.awaiting).toMatchObject({
      kind: "manual",
      accepts: ["done", "cancel"],
      labels: { done: "I revoked it" },
    });
    expect(confirmed.awaiting!.prompt).toBe(
      "Send /revoke in @BotFather\n\nThis cannot be undone: once you press I revoked it, the rotation can no longer be aborted.",
    );
    const cancelled = run(
      confirmed,
      infos,
      answer("cancel"),
      rollbackStep("vault_drop_new", "skipped"),
      rolledBack(),
    ).r;
    expect(cancelled.message).toBe(
      "aborted by @alice; nothing had changed: no new value was in the vault and no service was touched",
    );
  });

  it("once the operator says it was revoked, abort is refused and the token card offers no Cancel", () => {
    const { r, infos } = telegram();
    const revoked = run(r, infos, { type: "begin" }, answer("go"), answer("done"), done("revoke")).r;
    expect(revoked.pointOfNoReturn?.stepId).toBe("revoke");
    expect(revoked.awaiting).toMatchObject({ kind: "collect", accepts: ["collect", "added_myself"] });
    expect(transition(revoked, { type: "abort", actor: ALICE }, ctxFor(infos))).toMatchObject({
      reason: "refused",
      message: expect.stringContaining('"Revoke the old token" has run and cannot be undone') as string,
    });
  });
});

describe("crash recovery and resume", () => {
  it("a step found running after a crash is interrupted; an idempotent one re-runs on resume", () => {
    const { r, infos } = setup([{ id: "a", idempotent: true }, { id: "b" }]);
    const crashed = run(r, infos, { type: "begin" }).r;
    const recovered = run(crashed, infos, { type: "recover" });
    expect(step(recovered.r, "a")).toMatchObject({
      state: "interrupted",
      message: "rotabot stopped while this step was running",
    });
    expect(recovered.r.state).toBe("interrupted");
    expect(types(recovered.t)).toEqual(["interrupted"]);
    const resumed = run(recovered.r, infos, { type: "resume" });
    expect(step(resumed.r, "a")).toMatchObject({ state: "running", attempts: 2 });
    expect(step(resumed.r, "a").message).toBeUndefined();
  });

  it("a non-idempotent interrupted step is not re-run: the operator is asked (no Abort after the point of no return)", () => {
    const { r, infos } = setup([{ id: "a", title: "Cycle" }, { id: "b" }]);
    const recovered = run(r, infos, { type: "begin" }, { type: "recover" }).r;
    const asked = run(recovered, infos, { type: "resume" }).r;
    expect(asked.awaiting).toMatchObject({ kind: "interrupted", accepts: ["retry", "mark_done", "abort"] });
    expect(asked.awaiting!.prompt).toMatch(/^"Cycle" was interrupted while running and may have partly happened/);
    expect(effects(run(asked, infos, answer("mark_done")).t)).toEqual(["run_step"]);
    const past = run(r, infos, { type: "begin" }, { type: "recover" }).r;
    const pastWithPonr = deepFreeze({ ...structuredClone(past), pointOfNoReturn: { stepId: "x", at: NOW } });
    expect(run(pastWithPonr, infos, { type: "resume" }).r.awaiting!.accepts).toEqual(["retry", "mark_done"]);
  });

  it("a prompt whose deadline passed while rotabot was down is expired on recovery; resume asks again with a fresh nonce and deadline", () => {
    const { r, infos } = setup([{ id: "w", interaction: "confirm", prompt: "Window?" }]);
    const asked = run(r, infos, { type: "begin" }).r;
    const recovered = ok(transition(asked, { type: "recover" }, ctxFor(infos, { now: LATER })));
    expect(recovered.rotation.awaiting!.expired).toBe(true);
    expect(types(recovered)).toEqual(["prompt_expired"]);
    const resumed = ok(transition(deepFreeze(recovered.rotation), { type: "resume" }, ctxFor(infos, { now: LATER })));
    expect(resumed.rotation.awaiting!.nonce).not.toBe(asked.awaiting!.nonce);
    expect(resumed.rotation.awaiting!.expired).toBeUndefined();
    expect(resumed.rotation.awaiting!.expiresAt).toBe("2026-11-27T10:35:00.000Z");
    expect(transition(resumed.rotation, answer("go")(asked), ctxFor(infos, { now: LATER }))).toMatchObject({
      reason: "stale",
    });
  });

  it("a prompt still within its deadline survives recovery", () => {
    const { r, infos } = setup([{ id: "w", interaction: "confirm", prompt: "Window?" }]);
    const asked = run(r, infos, { type: "begin" }).r;
    const recovered = ok(transition(asked, { type: "recover" }, ctxFor(infos)));
    expect(recovered.rotation.awaiting!.expired).toBeUndefined();
    expect(recovered.notices).toEqual([]);
  });

  it("a crash during an abort leaves an interrupted rotation that can be aborted again", () => {
    const { r, infos } = setup([{ id: "a" }]);
    const aborting = run(r, infos, { type: "begin" }, { type: "abort", actor: ALICE }).r;
    const recovered = run(aborting, infos, { type: "recover" }).r;
    expect(recovered.aborting).toBeUndefined();
    expect(recovered.message).toBe("rotabot stopped while aborting; abort again to finish the rollback");
    expect(effects(ok(transition(recovered, { type: "abort", actor: ALICE }, ctxFor(infos))))).toEqual([
      "cancel_running",
      "roll_back",
    ]);
  });

  it("a rollback stopped by a shutdown leaves an interrupted rotation that can be aborted again, and says so", () => {
    const { r, infos } = setup([{ id: "a" }]);
    const aborting = run(r, infos, { type: "begin" }, { type: "abort", actor: ALICE }).r;
    const { r: stopped, t } = run(aborting, infos, { type: "rollback_interrupted" });
    expect(stopped).toMatchObject({
      state: "interrupted",
      message: "rotabot stopped while aborting; abort again to finish the rollback",
    });
    expect(stopped.aborting).toBeUndefined();
    expect(types(t)).toEqual(["interrupted"]);
    expect(effects(ok(transition(stopped, { type: "abort", actor: ALICE }, ctxFor(infos))))).toEqual([
      "cancel_running",
      "roll_back",
    ]);
  });

  it("resume refuses an ended rotation", () => {
    const { r, infos } = setup([{ id: "a", state: "done" }], { state: "aborted" });
    expect(transition(r, { type: "resume" }, ctxFor(infos))).toMatchObject({
      ok: false,
      message: `rotation ${r.id} has already ended (aborted)`,
    });
  });
});

describe("what the cards say during a rotation (issue 15)", () => {
  const revokeSteps = (): Spec[] => [
    { id: "c", interaction: "collect", prompt: "Paste the new PAT.", kind: "collect" },
    { id: "add", kind: "vault_add_new" },
    { id: "m", interaction: "manual", prompt: "Revoke the old token in the dashboard.", destructive: true },
    { id: "refused", kind: "verify", title: "Check that the old token is refused" },
    { id: "promote", kind: "vault_promote", destructive: true, title: "Rename" },
  ];
  const taken = (x: Rotation): Input => ({
    type: "value_taken",
    nonce: x.awaiting!.nonce,
    response: "collect",
    actor: ALICE,
    note: "received from @alice, ends in …rEtz",
    ending: "rEtz",
  });

  it("a collect card names the value in use now; a revoke card names the old and the new one by their last 4 characters", () => {
    const { r, infos } = setup(revokeSteps());
    const asked = run(r, infos, { type: "begin", oldEnding: "dFeC" }).r;
    expect(asked.awaiting!.prompt).toBe("Paste the new PAT.\n\nThe token in use now ends in …dFeC.");
    const revoke = run(asked, infos, taken, done("add")).r;
    expect(revoke.awaiting!.prompt).toBe(
      "Revoke the old token in the dashboard.\n\nRevoke the token ending …dFeC; keep …rEtz (the new one).\n\nThis cannot be undone: once you press Done, the rotation can no longer be aborted.",
    );
  });

  it("a failed check that guards a revoke names its buttons and what Mark done skips; no Abort past the revoke, no Send another value", () => {
    const { r, infos } = setup(revokeSteps());
    infos.set("refused", { interaction: "automatic", guards: "Revoke the old token in SignalWire" });
    const { r: failedCheck } = run(
      r,
      infos,
      { type: "begin", oldEnding: "dFeC" },
      taken,
      done("add"),
      answer("done"),
      done("m"),
      failed("refused", "the repository still accepts the old token (HTTP 200)"),
    );
    expect(failedCheck.awaiting!.accepts).toEqual(["retry", "mark_done"]);
    expect(failedCheck.awaiting!.prompt).toBe(
      [
        "Check that the old token is refused failed: the repository still accepts the old token (HTTP 200)",
        "",
        "Was the old token ending …dFeC revoked? This check proves that “Revoke the old token in SignalWire” worked; if the old token ending …dFeC is still accepted, it was not. Revoke it now, then press Retry.",
        "",
        "🔁 Retry runs it again.",
        "☑️ Mark done skips this check: nobody will have checked that “Revoke the old token in SignalWire” worked, so the old token ending …dFeC may still be valid. The rotation goes on as if it had passed.",
      ].join("\n"),
    );
    // With the two-person rule, Mark done on it is a second person's decision (Retry is not).
    const approval = { requireSecondApprover: true, approverIds: ["tg:2"] };
    expect(refusalFor(failedCheck, ALICE, "mark_done", approval)).toBe(
      "A second person must approve this step: ask someone in APPROVER_IDS to press Mark done.",
    );
    expect(refusalFor(failedCheck, ALICE, "retry", approval)).toBeUndefined();
    const marked = ok(transition(failedCheck, answer("mark_done", BOB)(failedCheck), ctxFor(infos, { approval })));
    expect(step(marked.rotation, "refused")).toMatchObject({ state: "done", message: "marked done by @bob" });
  });

  it("a check that refuses a collected value offers Send another value: the value is asked again, and the steps after it run again", () => {
    const { r, infos } = setup([
      { id: "c", interaction: "collect", prompt: "Paste the new token.", kind: "collect" },
      { id: "add", kind: "vault_add_new" },
      { id: "ok", interaction: "confirm", prompt: "Go on?" },
      { id: "same_bot", kind: "verify", title: "Check the new token" },
      { id: "deploy" },
    ]);
    const { r: failedCheck } = run(
      r,
      infos,
      { type: "begin", oldEnding: "dFeC" },
      taken,
      done("add"),
      answer("go"),
      failed("same_bot", "the new token is refused by Telegram (401 Unauthorized)"),
    );
    expect(failedCheck.awaiting!.accepts).toEqual(["retry", "mark_done", "another_value", "abort"]);
    expect(failedCheck.awaiting!.prompt).toContain(
      "\n🔑 Send another value asks you for the value again, then repeats the steps that used it.\n",
    );
    const { r: again, t } = run(failedCheck, infos, answer("another_value"));
    expect(again.awaiting).toMatchObject({ kind: "collect", accepts: ["collect", "added_myself", "cancel"] });
    expect(again.steps.map((s) => s.state)).toEqual(["awaiting", "pending", "done", "pending", "pending"]);
    expect(again.endings).toEqual({ old: "dFeC" });
    expect(types(t)).toEqual(["answered", "awaiting"]);
    const retaken = run(again, infos, taken).r;
    expect(step(retaken, "add").state).toBe("running");
  });

  it("Send another value is offered only by checks, and not once the new value was renamed into place", () => {
    const { r, infos } = setup([
      { id: "c", interaction: "collect", prompt: "Paste", kind: "collect" },
      { id: "deploy" },
      { id: "promote", kind: "vault_promote" },
      { id: "check", kind: "verify" },
    ]);
    const deployFailed = run(r, infos, { type: "begin" }, taken, failed("deploy")).r;
    expect(deployFailed.awaiting!.accepts).toEqual(["retry", "mark_done", "abort"]);
    const late = run(deployFailed, infos, answer("retry"), done("deploy"), done("promote"), failed("check")).r;
    expect(late.awaiting!.accepts).not.toContain("another_value");
  });

  it("after the point of no return, a destructive card no longer says the rotation could still be aborted before it", () => {
    const { r, infos } = setup([
      { id: "m", interaction: "manual", prompt: "Revoke", destructive: true },
      { id: "promote", destructive: true, title: "Rename" },
    ]);
    const asked = run(r, infos, { type: "begin" }, answer("done"), done("m")).r;
    expect(asked.awaiting).toMatchObject({
      kind: "destructive",
      accepts: ["go"],
      prompt: "Rename. This cannot be undone.",
    });
  });

  it("an interrupted step names only the buttons it offers", () => {
    const { r, infos } = setup([
      { id: "m", interaction: "manual", prompt: "Revoke", destructive: true },
      { id: "b", title: "Deploy" },
    ]);
    const stopped = run(r, infos, { type: "begin" }, answer("done"), done("m"), { type: "recover" }).r;
    const asked = run(stopped, infos, { type: "resume" }).r;
    expect(asked.awaiting!.accepts).toEqual(["retry", "mark_done"]);
    expect(asked.awaiting!.prompt).toMatch(
      /^"Deploy" was interrupted while running and may have partly happened\.\n\n🔁 Retry runs it again\.\n☑️ Mark done records it as done: press it only if it completed\.$/,
    );
  });
});

describe("compromise mode: the exposure window (issue 23)", () => {
  const SINCE = "2026-11-27T09:00:00.000Z";
  const compromise = { reason: "token in a public gist", since: SINCE, sinceGiven: true, order: "compromise" as const };
  const specs: Spec[] = [
    { id: "refused@staging", stepId: "refused", environment: "staging" },
    { id: "refused@production", stepId: "refused", environment: "production" },
    { id: "deploy" },
  ];
  const at = (infos: Map<string, StepInfo>, iso: string) => ctxFor(infos, { now: iso, refusedBy: "refused" });
  const step1 = (current: Rotation, input: Input, infos: Map<string, StepInfo>, iso: string) =>
    deepFreeze(ok(transition(current, input, at(infos, iso))).rotation);

  it("closes when the refusal check has passed in every environment, measured from the suspected leak", () => {
    const { r, infos } = setup(specs, { compromise, incident: { reason: compromise.reason } });
    let current = step1(r, { type: "begin" }, infos, NOW);
    current = step1(current, done("refused@staging"), infos, "2026-11-27T10:00:05.000Z");
    expect(current.exposure).toBeUndefined();
    current = step1(current, done("refused@production"), infos, "2026-11-27T10:00:09.000Z");
    expect(current.exposure).toEqual({
      from: SINCE,
      to: "2026-11-27T10:00:09.000Z",
      seconds: 3609,
      proven: true,
      by: "Step refused@production",
    });
    // The deploy after it does not move the window.
    current = step1(current, done("deploy"), infos, "2026-11-27T10:05:00.000Z");
    expect(current.state).toBe("completed");
    expect(current.exposure!.to).toBe("2026-11-27T10:00:09.000Z");
  });

  it("a refusal check marked done by hand proves nothing: the window runs to the rotation's end", () => {
    const { r, infos } = setup(specs, { compromise });
    let current = step1(r, { type: "begin" }, infos, NOW);
    current = step1(current, failed("refused@staging", "Sentry still accepts the old DSN"), infos, NOW);
    current = step1(current, answer("mark_done")(current), infos, NOW);
    expect(step(current, "refused@staging").markedDoneBy).toEqual(ALICE);
    current = step1(current, done("refused@production"), infos, "2026-11-27T10:00:09.000Z");
    expect(current.exposure).toBeUndefined();
    current = step1(current, done("deploy"), infos, "2026-11-27T10:30:00.000Z");
    expect(current.exposure).toMatchObject({ to: "2026-11-27T10:30:00.000Z", seconds: 5400, proven: false });
  });

  it("measures the outage in each environment from its break to the end of its re-deploy, journaled as it goes", () => {
    const perEnvironment: Spec[] = ["staging", "production"].flatMap((environment) => [
      { id: `break@${environment}`, stepId: "break", environment },
      { id: `deploy@${environment}`, stepId: "deploy", environment },
    ]);
    const { r, infos } = setup(perEnvironment, { compromise, environments: ["staging", "production"] });
    const measuring = (current: Rotation, input: Input, iso: string) =>
      deepFreeze(
        ok(transition(current, input, ctxFor(infos, { now: iso, outageSteps: { from: "break", to: "deploy" } })))
          .rotation,
      );
    let current = measuring(r, { type: "begin" }, NOW);
    current = measuring(current, done("break@staging"), "2026-11-27T10:00:10.000Z");
    expect(current.environmentOutages).toEqual([]);
    current = measuring(current, done("deploy@staging"), "2026-11-27T10:00:52.500Z");
    expect(current.environmentOutages).toEqual([
      { environment: "staging", from: "2026-11-27T10:00:10.000Z", to: "2026-11-27T10:00:52.500Z", seconds: 42.5 },
    ]);
    current = measuring(current, done("break@production"), "2026-11-27T10:01:00.000Z");
    current = measuring(current, done("deploy@production"), "2026-11-27T10:01:30.000Z");
    expect(current.state).toBe("completed");
    expect(current.environmentOutages!.map((o) => [o.environment, o.seconds])).toEqual([
      ["staging", 42.5],
      ["production", 30],
    ]);
    expect(describeExposure(current)).toMatch(/: staging 42\.5 s, production 30\.0 s$/);
    // Without outage_steps (a routine order, or a procedure that declares none) nothing is measured.
    expect(
      run(r, infos, { type: "begin" }, ...perEnvironment.map((s) => done(s.id))).r.environmentOutages,
    ).toBeUndefined();
  });

  it("a routine rotation measures its window too (from its start), but only when a check proves the refusal", () => {
    const { r, infos } = setup(specs);
    let current = step1(r, { type: "begin" }, infos, NOW);
    current = step1(current, done("refused@staging"), infos, NOW);
    current = step1(current, done("refused@production"), infos, "2026-11-27T10:01:00.000Z");
    expect(current.exposure).toMatchObject({ from: NOW, seconds: 60, proven: true });
    const { r: plain, infos: plainInfos } = setup([{ id: "deploy" }]);
    const ended = run(plain, plainInfos, { type: "begin" }, done("deploy")).r;
    expect(ended.state).toBe("completed");
    expect(ended.exposure).toBeUndefined();
  });
});
