/**
 * The driver, `createRotationEngine`, with its dependencies in memory: a journal that can hold a
 * write, a clock the test moves (its timers fire only when the test says), a command runner whose
 * commands end when the test says, a vault in a Map. The real secret locks work in a temp folder.
 * Modelled on @grammyjs/conversations' own driver tests (test/engine.test.ts there): deferreds
 * the test resolves, and a log of checkpoints whose order is the assertion.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandResult, CommandSpec } from "../../../src/exec/create-command-runner.js";
import { createRedactor } from "../../../src/logging/redactor.js";
import type { Journal } from "../../../src/rotation/create-journal.js";
import { createRotationEngine, type EngineEvent, type SetTimer } from "../../../src/rotation/create-rotation-engine.js";
import { createSecretLocks } from "../../../src/rotation/create-secret-locks.js";
import type { Actor, Rotation } from "../../../src/model/rotation.js";
import { parseRunbook } from "../../../src/runbook/load-runbook.js";
import type { Runbook } from "../../../src/runbook/runbook-schema.js";

const ALICE: Actor = { id: "tg:1", name: "@alice" };
const START = Date.parse("2026-11-27T10:00:00.000Z");
const CONFIRM_MS = 15 * 60_000;

/** A confirm first (nothing written yet), the new value, a deploy that changes services, a check. */
function testRunbook(): Runbook {
  const parsed = parseRunbook(
    `version: 1
files: {vault: v.yml, manifest: m.yml}
policies: {api_token: {every: 6 months}}
procedures:
  - id: api
    title: API token
    category: api_token
    applies_to_category: true
    steps:
      - {id: window, kind: confirm, title: Window, message: Are we in the maintenance window?}
      - {id: gen, kind: generate, title: Generate}
      - {id: add, kind: vault_add_new, title: Add}
      - {id: deploy, kind: run, title: Deploy, argv: [deploy, "{environment}"]}
      - {id: check, kind: confirm, title: Check, message: Does the service answer?}
    rollback:
      - {id: redeploy, kind: run, title: Re-deploy, argv: [redeploy, "{environment}"]}
`,
    "runbook.yml",
  );
  if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
  return parsed.runbook;
}

/** A promise and its resolve, as the conversations plugin's `resolver()`. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Journal in memory: every write kept in order, and a write of a chosen rotation held until released. */
function memoryJournal(log: string[]) {
  const saved = new Map<string, string>();
  const writes: Rotation[] = [];
  let gate: { id: string; open: Promise<void>; reached: () => void } | undefined;
  const read = (id: string): Rotation | undefined => {
    const text = saved.get(id);
    return text === undefined ? undefined : (JSON.parse(text) as Rotation);
  };
  const journal: Journal = {
    dir: "(memory)",
    async save(rotation) {
      if (gate?.id === rotation.id) {
        const { open, reached } = gate;
        reached();
        await open;
      }
      saved.set(rotation.id, JSON.stringify(rotation));
      writes.push(structuredClone(rotation));
      log.push(`journal ${rotation.key} ${rotation.state}`);
    },
    load: (id) => Promise.resolve(read(id)),
    inspect: (id) => {
      const rotation = read(id);
      return Promise.resolve(rotation ? { status: "ok", id, rotation } : { status: "missing", id });
    },
    setAside: () => Promise.resolve(),
    list: () =>
      Promise.resolve([...saved.keys()].map((id) => read(id)!).sort((a, b) => b.createdAt.localeCompare(a.createdAt))),
    damaged: () => Promise.resolve([]),
  };
  return {
    journal,
    writes,
    read,
    /** Holds the next writes of this rotation until `release()`; `reached` resolves when one waits. */
    hold(id: string) {
      const open = deferred();
      const reached = deferred();
      gate = { id, open: open.promise, reached: reached.resolve };
      return {
        reached: reached.promise,
        release: () => {
          gate = undefined;
          open.resolve();
        },
      };
    },
  };
}

/** A clock whose time and timers move only when the test says. */
function testClock() {
  let now = START;
  const timers = new Set<{ at: number; run: () => void }>();
  const setTimer: SetTimer = (run, ms) => {
    const timer = { at: now + ms, run };
    timers.add(timer);
    return () => timers.delete(timer);
  };
  return {
    now: () => new Date(now),
    setTimer,
    /** Moves time on and fires, in order, every timer due by then. */
    advance(ms: number) {
      now += ms;
      for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
        if (timer.at > now) break;
        timers.delete(timer);
        timer.run();
      }
    },
    /** How long until each armed timer fires. */
    armed: () => [...timers].map((t) => t.at - now),
  };
}

/** Commands that end at once, except those held by name: they end when the test says (or are cancelled). */
function fakeRunner(log: string[]) {
  const held = new Set<string>();
  const calls: { argv: readonly string[]; finish: (ok: boolean) => void; signal: AbortSignal | undefined }[] = [];
  const waiting: { name: string; resolve: (call: (typeof calls)[number]) => void }[] = [];
  const runCommand = (spec: CommandSpec) =>
    new Promise<CommandResult>((resolve) => {
      const name = spec.argv.join(" ");
      const finish = (ok: boolean) => {
        log.push(`${ok ? "ran" : "failed"} ${name}`);
        resolve(
          ok
            ? { ok: true, exitCode: 0, tail: [] }
            : { ok: false, reason: "exit", exitCode: 1, message: `${name} exited with 1`, tail: [] },
        );
      };
      const call = { argv: spec.argv, finish, signal: spec.signal };
      calls.push(call);
      log.push(`started ${name}`);
      spec.signal?.addEventListener(
        "abort",
        () => {
          log.push(`cancelled ${name}`);
          resolve({ ok: false, reason: "cancelled", exitCode: undefined, message: `${name} was stopped`, tail: [] });
        },
        { once: true },
      );
      for (const w of waiting.filter((w) => w.name === spec.argv[0])) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(call);
      }
      if (!held.has(spec.argv[0]!)) finish(true);
    });
  return {
    runCommand,
    calls,
    /** Commands named so run until `finish` (or their signal) ends them. */
    hold: (name: string) => held.add(name),
    /** The next call of the named command (or the one already made). */
    started(name: string) {
      const made = calls.find((c) => c.argv[0] === name);
      if (made) return Promise.resolve(made);
      const next = deferred<(typeof calls)[number]>();
      waiting.push({ name, resolve: next.resolve });
      return next.promise;
    },
  };
}

/** A vault in a Map, with the fields the steps read. */
function memoryVault(log: string[], values: Record<string, string>) {
  const map = new Map(Object.entries(values));
  return {
    map,
    vault: {
      checkPasswordFile: () => Promise.resolve({ ok: true as const, warnings: [] }),
      read: (key: string) => Promise.resolve({ ok: true as const, value: map.get(key) }),
      addNew: (key: string, value: string) => {
        map.set(`${key}_new`, value);
        log.push(`vault add ${key}_new`);
        return Promise.resolve({ ok: true as const });
      },
      dropNew: (key: string) => {
        const had = map.delete(`${key}_new`);
        log.push(`vault drop ${key}_new`);
        return Promise.resolve({ ok: true as const, backup: had ? "/backup" : undefined });
      },
    },
  };
}

/** What each test leaves: its engines are stopped (their steps cancelled), then its folder removed. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One world (journal, clock, runner, vault, locks) and an engine on it; `restart()` makes another on the same world. */
function world() {
  const log: string[] = [];
  const stateDir = mkdtempSync(path.join(tmpdir(), "rotabot-engine-"));
  cleanups.push(() => Promise.resolve(rmSync(stateDir, { recursive: true, force: true })));
  const journal = memoryJournal(log);
  const clock = testClock();
  const runner = fakeRunner(log);
  const { vault, map } = memoryVault(log, { vault_a: "old-value-of-a", vault_b: "old-value-of-b" });
  const runbook = testRunbook();
  const locks = createSecretLocks(stateDir);
  const alive = new Set<number>();
  const engine = (pid: number) => {
    alive.add(pid);
    const made = createRotationEngine({
      runbook,
      vault: vault as never,
      files: { sweepTemps: () => Promise.resolve([]) } as never,
      runCommand: runner.runCommand,
      redactor: createRedactor(),
      git: { isRepository: () => Promise.resolve(false) } as never,
      services: {} as never,
      paths: {
        infraDir: path.join(stateDir, "infra"),
        stateDir,
        vaultPasswordFile: path.join(stateDir, "pass"),
        manifestFile: path.join(stateDir, "infra", "m.yml"),
        changelogFile: path.join(stateDir, "infra", "CHANGELOG.md"),
        commitFiles: [],
      },
      env: {},
      now: clock.now,
      setTimer: clock.setTimer,
      journal: journal.journal,
      locks,
      logger: pino({ level: "silent" }),
      confirmTimeoutMs: CONFIRM_MS,
      approval: { requireSecondApprover: false, approverIds: [] },
      self: { pid, host: "ops1" },
      isAlive: (p) => alive.has(p),
      deployMarker: undefined,
    });
    cleanups.push(() => made.stopAll());
    const events: EngineEvent[] = [];
    made.on((event) => {
      events.push(event);
      log.push(`event ${event.rotation.key} ${event.type}`);
    });
    return { engine: made, events };
  };
  const first = engine(100);
  return {
    ...first,
    log,
    journal,
    clock,
    runner,
    vaultValues: map,
    /** The first process is gone (crashed or stopped); a new one drives the same journal. */
    restart: () => {
      alive.delete(100);
      return engine(200);
    },
    start: async (key: string) => {
      const started = await first.engine.start({ procedure: runbook.procedures[0]!, key, initiator: ALICE });
      if (!started.ok) throw new Error(`start refused: ${started.message}`);
      return started.rotation;
    },
  };
}

/**
 * Lets every callback already due run (promise reactions, then one turn of the event loop). No time
 * passes on the test clock: this orders nothing, it only lets what is pending show.
 */
const drained = () => new Promise((resolve) => setImmediate(resolve));

/** The first event of the given type that comes, for the given rotation. */
function next(engine: ReturnType<typeof createRotationEngine>, type: EngineEvent["type"], id: string) {
  const heard = deferred<EngineEvent>();
  const off = engine.on((event) => {
    if (event.type === type && event.rotation.id === id) {
      off();
      heard.resolve(event);
    }
  });
  return heard.promise;
}

/** Starts a rotation and answers its first prompt, so it runs on to the deploy, which the runner holds. */
async function deploying(w: ReturnType<typeof world>, key = "vault_a") {
  w.runner.hold("deploy");
  const r = await w.start(key);
  const answered = await w.engine.respond(r.id, r.awaiting!.nonce, { type: "go" }, ALICE);
  expect(answered.ok).toBe(true);
  const deploy = await w.runner.started("deploy");
  return { r, deploy };
}

describe("the rotation engine (driver)", () => {
  describe("per-rotation ordering", () => {
    it("applies two inputs to one rotation in order: the second sees what the first journaled", async () => {
      const w = world();
      const r = await w.start("vault_a");
      const nonce = r.awaiting!.nonce;
      // The first answer is held at its journal write, so the second is sent while the first is unfinished.
      const held = w.journal.hold(r.id);
      const first = w.engine.respond(r.id, nonce, { type: "go" }, ALICE);
      await held.reached;
      const second = w.engine.respond(r.id, nonce, { type: "go" }, ALICE);
      held.release();
      const [one, two] = await Promise.all([first, second]);
      expect(one.ok).toBe(true);
      // A double press: the second answer came with the same nonce, but runs after the first, so it is stale.
      expect(two).toMatchObject({ ok: false, reason: "stale" });
      await w.engine.settled(r.id);
      expect(w.journal.writes.filter((x) => x.steps.find((s) => s.id === "window")?.state === "done")).not.toEqual([]);
      // The confirm was answered once: one "answered" event, and the generate step ran once.
      expect(w.events.filter((e) => e.type === "answered")).toHaveLength(1);
      expect(w.log.filter((line) => line === "vault add vault_a_new")).toHaveLength(1);
    });

    it("two rotations do not wait for each other: one answers while the other's journal write is held", async () => {
      const w = world();
      const a = await w.start("vault_a");
      const b = await w.start("vault_b");
      const held = w.journal.hold(a.id);
      const answerA = w.engine.respond(a.id, a.awaiting!.nonce, { type: "go" }, ALICE);
      await held.reached;
      let aDone = false;
      void answerA.then(() => (aDone = true));
      const answerB = await w.engine.abort(b.id, ALICE);
      expect(answerB).toMatchObject({ ok: true, rotation: { state: "aborting" } });
      expect(aDone).toBe(false);
      held.release();
      expect((await answerA).ok).toBe(true);
      expect(w.log.indexOf("journal vault_b aborting")).toBeLessThan(w.log.lastIndexOf("journal vault_a running"));
    });
  });

  describe("abort follow-ups", () => {
    it("abort returns once 'aborting' is journaled; the cancelled step ends, then the rollback runs after", async () => {
      const w = world();
      const { r, deploy } = await deploying(w);
      w.runner.hold("redeploy");
      const aborted = await w.engine.abort(r.id, ALICE);
      w.log.push("abort returned");
      expect(aborted).toMatchObject({ ok: true, rotation: { state: "aborting" } });
      expect(w.journal.read(r.id)!.state).toBe("aborting");
      expect(deploy.signal?.aborted).toBe(true);
      (await w.runner.started("redeploy")).finish(true);
      const settled = await w.engine.settled(r.id);
      expect(settled?.state).toBe("aborted");
      const told = w.log.filter((line) => !line.startsWith("journal") && /abort|deploy|vault drop/.test(line));
      // Heard, the running command stopped, and answered, all before any rollback step starts.
      expect(told.slice(told.indexOf("event vault_a aborting"))).toEqual([
        "event vault_a aborting",
        "cancelled deploy staging",
        "abort returned",
        "vault drop vault_a_new",
        "started redeploy staging",
        "ran redeploy staging",
        "event vault_a aborted",
      ]);
      // And journaled before anyone heard of it.
      expect(w.log.indexOf("journal vault_a aborting")).toBeLessThan(w.log.indexOf("event vault_a aborting"));
      expect(w.vaultValues.has("vault_a_new")).toBe(false);
      expect(w.journal.read(r.id)!.rollback!.steps.map((s) => [s.id, s.state])).toEqual([
        ["vault_drop_new", "done"],
        ["redeploy@staging", "done"],
      ]);
    });

    it("settled waits for the rollback (the follow-up), not only for the abort's own input", async () => {
      const w = world();
      const { r } = await deploying(w);
      w.runner.hold("redeploy");
      await w.engine.abort(r.id, ALICE);
      // Asked while the rollback waits on its command: no input is queued and no step runs.
      const redeploy = await w.runner.started("redeploy");
      let settled: Readonly<Rotation> | undefined;
      const settling = w.engine.settled(r.id).then((s) => (settled = s));
      await drained();
      expect(settled).toBeUndefined();
      redeploy.finish(true);
      await settling;
      expect(settled?.state).toBe("aborted");
    });
  });

  describe("rollbacks under stop", () => {
    it("stopAll with a grace lets a running rollback finish, and returns only after it ended", async () => {
      const w = world();
      const { r } = await deploying(w);
      w.runner.hold("redeploy");
      await w.engine.abort(r.id, ALICE);
      const redeploy = await w.runner.started("redeploy");
      let stopped = false;
      const stopping = w.engine.stopAll(30_000).then(() => (stopped = true));
      // The grace runs on the test's clock: it has not elapsed, so nothing is cancelled.
      await Promise.resolve();
      expect(stopped).toBe(false);
      expect(w.clock.armed()).toEqual([30_000]);
      redeploy.finish(true);
      await stopping;
      expect(redeploy.signal?.aborted).toBe(false);
      expect(w.journal.read(r.id)!.state).toBe("aborted");
      expect(w.clock.armed()).toEqual([]);
    });

    it("a rollback still running when the grace ends is stopped and journaled as an interrupted abort", async () => {
      const w = world();
      const { r } = await deploying(w);
      w.runner.hold("redeploy");
      await w.engine.abort(r.id, ALICE);
      const redeploy = await w.runner.started("redeploy");
      const interrupted = next(w.engine, "interrupted", r.id);
      const stopping = w.engine.stopAll(30_000);
      w.clock.advance(30_000);
      await stopping;
      expect(redeploy.signal?.aborted).toBe(true);
      // stopAll returned only once the interruption was journaled and announced.
      const journaled = w.journal.read(r.id)!;
      expect(journaled.state).toBe("interrupted");
      expect(journaled.aborting).toBeUndefined();
      expect(journaled.message).toMatch(/abort/i);
      expect((await interrupted).rotation.state).toBe("interrupted");
    });
  });

  describe("timers after restart", () => {
    it("re-arms the expiry of a prompt loaded from the journal, for the time it had left", async () => {
      const w = world();
      const r = await w.start("vault_a");
      expect(w.clock.armed()).toEqual([CONFIRM_MS]);
      await w.engine.stopAll();
      expect(w.clock.armed()).toEqual([]);
      w.clock.advance(10 * 60_000);
      const after = w.restart();
      const recovered = await after.engine.recover();
      expect(recovered.map((x) => x.id)).toEqual([r.id]);
      expect(w.clock.armed()).toEqual([5 * 60_000]);
      const expired = next(after.engine, "prompt_expired", r.id);
      w.clock.advance(5 * 60_000);
      expect((await expired).rotation.awaiting?.expired).toBe(true);
      expect(w.journal.read(r.id)!.awaiting).toMatchObject({ nonce: r.awaiting!.nonce, expired: true });
      // An answer after the deadline is refused, across the restart.
      const late = await after.engine.respond(r.id, r.awaiting!.nonce, { type: "go" }, ALICE);
      expect(late).toMatchObject({ ok: false, reason: "expired" });
    });

    it("a prompt whose deadline passed while rotabot was down expires at recovery, with no timer left", async () => {
      const w = world();
      const r = await w.start("vault_a");
      await w.engine.stopAll();
      w.clock.advance(CONFIRM_MS + 1);
      const after = w.restart();
      const [recovered] = await after.engine.recover();
      expect(recovered?.awaiting?.expired).toBe(true);
      expect(w.clock.armed()).toEqual([]);
      expect(w.journal.read(r.id)!.awaiting?.expired).toBe(true);
    });
  });

  describe("stale nonces", () => {
    it("refuses an answer with the nonce of an earlier prompt, and changes nothing", async () => {
      const w = world();
      const r = await w.start("vault_a");
      const old = r.awaiting!.nonce;
      // /resume asks again with a fresh nonce: the earlier prompt's buttons stop working.
      const resumed = await w.engine.resume(r.id);
      expect(resumed.ok && resumed.rotation.awaiting!.nonce).not.toBe(old);
      const writes = w.journal.writes.length;
      const stale = await w.engine.respond(r.id, old, { type: "go" }, ALICE);
      expect(stale).toMatchObject({ ok: false, reason: "stale" });
      expect(w.journal.writes).toHaveLength(writes);
      expect(w.runner.calls).toEqual([]);
      expect(w.log).not.toContain("vault add vault_a_new");
      const fresh = await w.engine.respond(
        r.id,
        resumed.ok ? resumed.rotation.awaiting!.nonce : "",
        { type: "go" },
        ALICE,
      );
      expect(fresh.ok).toBe(true);
    });
  });
});
