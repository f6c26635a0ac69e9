import path from "node:path";
import type { Logger } from "../logging/create-logger.js";
import { StateWriteError } from "../fs/state-write-error.js";
import { fail, type Result } from "../result.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import { readSecretValues } from "../vault/read-secret-values.js";
import { createSelectionCache } from "../ansible/create-selection-cache.js";
import { checkCanStart, checkPlaybooksSelectTasks } from "./check-can-start.js";
import { createVaultClaim } from "./claim-vault.js";
import { toEngineEvent, type EngineEvent } from "./engine-events.js";
import { executeRecord, type ExecuteHooks } from "./execute-record.js";
import type { DeployMarker } from "./create-deploy-marker.js";
import type { Journal } from "./create-journal.js";
import type { SecretLocks } from "./create-secret-locks.js";
import type { Actor, OperatorResponse, ResponseType, RollbackReport, Rotation, StepRecord } from "../model/rotation.js";
import { planRollback } from "./plan-rollback.js";
import { newRotation, type StartRequest } from "./new-rotation.js";
import { PROMPTS, REFUSALS } from "./prompts.js";
import { isTerminal, unusedCredentials } from "./queries.js";
import { prepareAnswer } from "./prepare-answer.js";
import { restoreDamaged } from "./rebuild-rotation.js";
import { rollBack } from "./roll-back.js";
import { transitionContext } from "./step-definitions.js";
import type { StepDeps } from "../steps/step-kind.js";
import { checkAnswer } from "./answer-rules.js";
import type { Effect, Input } from "./transition-io.js";
import { transition } from "./transitions.js";
import { endingIn } from "../steps/collect.js";

export type { EngineEvent } from "./engine-events.js";
export type { StartRequest } from "./new-rotation.js";

export interface EngineDeps extends Omit<StepDeps, "claimVault"> {
  runbook: Runbook;
  /** Held from a rotation's first vault write or service change until it ends; undefined without a deploy guard. */
  deployMarker: DeployMarker | undefined;
  journal: Journal;
  locks: SecretLocks;
  logger: Logger;
  /** How long a confirmation stays valid. */
  confirmTimeoutMs: number;
  /** The two-person rule: actor ids (`tg:<id>`) of approvers. */
  approval: { requireSecondApprover: boolean; approverIds: readonly string[] };
  /** This process, recorded on the rotations it drives. */
  self: { pid: number; host: string };
  /** Whether a process on this host is alive (a crashed owner frees its rotations). */
  isAlive: (pid: number) => boolean;
  /** rotabot's own BOT_TOKEN, when configured: a rotation whose secret holds it is refused. */
  ownToken?: string | undefined;
  /**
   * Arms a timer (a prompt's expiry, the shutdown grace) and returns what cancels it: the clock's
   * other half beside `now`. Defaults to `setTimeout`; tests pass a clock they move.
   */
  setTimer?: SetTimer | undefined;
}

/** Arms a timer and returns what cancels it; `keepAlive: false` lets the process exit before it fires. */
export type SetTimer = (run: () => void, ms: number, options: { keepAlive: boolean }) => () => void;

const setNodeTimer: SetTimer = (run, ms, { keepAlive }) => {
  const timer = setTimeout(run, ms);
  if (!keepAlive) timer.unref();
  return () => clearTimeout(timer);
};

/** How long a passed `--list-tasks` check holds: about as long as a plan card. */
const PREPARED_MS = 10 * 60_000;

type EngineResult = Result<
  { rotation: Readonly<Rotation> },
  "refused" | "not_found" | "stale" | "busy" | "invalid" | "expired" | "not_allowed" | "journal"
>;

/**
 * Runs runbook procedures as journaled state machines. The rules live in transitions.ts; this
 * driver feeds it inputs one rotation at a time, journals every result, emits snapshots, and runs
 * the effects: steps in the background, rollbacks, locks and expiry timers. Front ends never await a step.
 */
export function createRotationEngine(engineDeps: EngineDeps) {
  const selectsTasks = createSelectionCache({
    runCommand: engineDeps.runCommand,
    now: engineDeps.now,
    ttlMs: PREPARED_MS,
  });
  const deps = {
    ...engineDeps,
    selectsTasks,
    claimVault: createVaultClaim({ ...engineDeps, load: (id: string) => load(id) }),
  };
  const listeners = new Set<(event: EngineEvent) => void>();
  const live = new Map<string, Rotation>();
  const queues = new Map<string, Promise<unknown>>();
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Rollbacks in progress (an abort), which a shutdown waits for like a running step. */
  const rollbacks = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const followUps = new Map<string, Promise<unknown>>();
  /** Expiry timers of prompts, by nonce: each entry cancels its timer. */
  const timers = new Map<string, () => void>();
  const setTimer = engineDeps.setTimer ?? setNodeTimer;
  let stopping = false;
  /** Rotations whose journal could not be written, with the line that says why and what to do. */
  const writeFailures = new Map<string, string>();
  const placeholders = {
    vault_password_file: deps.paths.vaultPasswordFile,
    infra_dir: deps.paths.infraDir,
    state_dir: deps.paths.stateDir,
  };

  const load = async (id: string): Promise<Rotation | undefined> => live.get(id) ?? (await deps.journal.load(id));
  /** Like load, but a damaged journal is rebuilt from the vault and git: for resume and abort. */
  const loadOrRebuild = async (id: string): Promise<Result<{ rotation: Rotation }, "not_found" | "refused">> => {
    const loaded = await load(id);
    if (loaded) return { ok: true, rotation: loaded };
    const restored = await restoreDamaged(id, deps);
    if (restored.ok) live.set(id, restored.rotation);
    return restored;
  };
  const ownedElsewhere = (r: Rotation) =>
    r.process !== undefined &&
    r.process.pid !== deps.self.pid &&
    r.process.host === deps.self.host &&
    !isTerminal(r) &&
    deps.isAlive(r.process.pid);
  const context = (r: Readonly<Rotation>) => ({
    ...transitionContext(deps, r, stopping),
    rollbackPlan: (now: Readonly<Rotation>) => {
      const plan = planRollback(now, deps.runbook, { key: now.key, paths: deps.paths });
      return { steps: plan.steps, touched: plan.ran.length > 0 };
    },
  });

  function emit(event: EngineEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        deps.logger.error({ err: error, event: event.type }, "an engine listener failed");
      }
    }
  }

  /** Feeds one input to one rotation, in order with every other input to it; journals, emits, runs effects. */
  function dispatch(id: string, input: Input): Promise<EngineResult> {
    const task = (queues.get(id) ?? Promise.resolve()).then(async (): Promise<EngineResult> => {
      const current = await load(id);
      if (!current) return fail("not_found", REFUSALS.notFound(id));
      const next = transition(current, input, context(current));
      if (!next.ok) return next;
      const r = next.rotation;
      if (r.awaiting) r.awaiting.prompt = deps.redactor.redact(r.awaiting.prompt);
      const saved = await saveJournal(r);
      if (!saved.ok) return saved;
      live.set(id, r);
      const snapshot = Object.freeze(structuredClone(r));
      // A finished rotation lets go of its secret before anyone is told it finished, so an operator who reads
      // "aborted" or "rotated" and starts again at once is not refused by a lock about to be released.
      const releasesLock = (e: Effect) => e.type === "release_lock";
      for (const effect of next.effects.filter(releasesLock)) await perform(snapshot, effect);
      for (const notice of next.notices) emit(toEngineEvent(notice, snapshot));
      for (const effect of next.effects.filter((e) => !releasesLock(e))) await perform(snapshot, effect);
      return { ok: true, rotation: snapshot };
    });
    queues.set(
      id,
      task.catch(() => undefined),
    );
    return task;
  }

  /**
   * Journals a rotation before anyone hears of the change. A journal that cannot be written stops
   * the change there (nothing is run or announced on an unjournaled state) and is remembered with
   * its one-line explanation: what is in the way and the fix (`writeFailure`).
   */
  async function saveJournal(r: Rotation): Promise<Result<object, "journal">> {
    try {
      await deps.journal.save(r);
      writeFailures.delete(r.id);
      return { ok: true };
    } catch (error) {
      if (!(error instanceof StateWriteError)) throw error;
      writeFailures.set(r.id, error.message);
      deps.logger.error({ rotationId: r.id, file: error.file, code: error.code }, error.message);
      return fail("journal", error.message);
    }
  }

  async function perform(r: Readonly<Rotation>, effect: Effect): Promise<void> {
    switch (effect.type) {
      case "run_step":
        return runStep(
          r,
          r.steps.find((s) => s.id === effect.recordId)!,
        );
      case "cancel_running":
        running.get(r.id)?.controller.abort();
        return;
      case "roll_back": {
        const controller = new AbortController();
        const rolling = rollBackThenAbort(r.id, effect.actor, controller.signal);
        followUps.set(r.id, rolling);
        void rolling.finally(() => followUps.get(r.id) === rolling && followUps.delete(r.id)).catch(() => undefined);
        const entry = {
          controller,
          done: rolling.then(
            () => undefined,
            () => undefined,
          ),
        };
        rollbacks.set(r.id, entry);
        void entry.done.then(() => rollbacks.get(r.id) === entry && rollbacks.delete(r.id));
        return;
      }
      case "release_lock":
        await deps.locks.release(r.key, r.id);
        await deps.locks.releaseVault(r.id);
        return deps.deployMarker?.release(r.id);
      case "schedule_expiry": {
        const wait = Math.max(0, Date.parse(effect.at) - deps.now().getTime());
        const cancel = setTimer(
          () => {
            timers.delete(effect.nonce);
            void dispatch(r.id, { type: "expire", nonce: effect.nonce });
          },
          wait,
          { keepAlive: false },
        );
        timers.set(effect.nonce, cancel);
      }
    }
  }

  /**
   * Waits for a cancelled step to end, then rolls back, journaling each rollback step as it starts
   * and ends (front ends show them), and ends the abort: aborted, or still in flight as
   * "rollback_failed". Nobody waits for this but a shutdown and `settled`.
   */
  async function rollBackThenAbort(id: string, actor: Actor, signal: AbortSignal): Promise<EngineResult> {
    await running.get(id)?.done;
    await queues.get(id);
    let report: RollbackReport;
    try {
      await deps.files.sweepTemps();
      const onStep = (update: Parameters<Parameters<typeof rollBack>[3]>[0]) =>
        dispatch(id, { type: "rollback_step", ...update });
      const outcome = await rollBack((await load(id))!, deps.runbook, deps, onStep, signal);
      // A shutdown stopped it: journaled as interrupted, so the operator is told to abort again.
      if (outcome === "interrupted") return await dispatch(id, { type: "rollback_interrupted" });
      report = outcome;
    } catch (error) {
      // Never left "being aborted" for good: the rollback ends failed, saying what to check.
      deps.logger.error({ err: error, rotationId: id }, "the rollback stopped on an unexpected error");
      const message = deps.redactor.redact(error instanceof Error ? error.message : String(error));
      report = { problems: [PROMPTS.rollbackStopped(message)] };
    }
    return dispatch(id, { type: "rolled_back", actor, report });
  }

  /** Runs a step in the background; its outcome comes back as an input. */
  function runStep(r: Readonly<Rotation>, record: StepRecord): void {
    const controller = new AbortController();
    const started = deps.now().getTime();
    const hooks: ExecuteHooks = {
      signal: controller.signal,
      logFile: record.logFile ?? path.join(deps.paths.stateDir, "logs", r.id, `${record.id}.log`),
      onLine: (line) => emit({ type: "output", rotation: r, step: record, line }),
      onProcess: (process) => void dispatch(r.id, { type: "command_started", recordId: record.id, process }),
    };
    const finished = () => ({
      recordId: record.id,
      cancelled: controller.signal.aborted,
      ms: deps.now().getTime() - started,
    });
    const done: Promise<void> = executeRecord(r, record, hooks, deps)
      .then((outcome) => dispatch(r.id, { type: "step_finished", outcome, ...finished() }))
      .catch(async (error: unknown) => {
        deps.logger.error({ err: error, rotationId: r.id, step: record.id }, "a step failed on an unexpected error");
        const message = deps.redactor.redact(error instanceof Error ? error.message : String(error));
        await dispatch(r.id, { type: "failed_unexpectedly", message, ...finished() }).catch((again: unknown) =>
          deps.logger.error({ err: again, rotationId: r.id }, "could not record the step's failure"),
        );
      })
      .then(() => {
        if (running.get(r.id)?.done === done) running.delete(r.id);
      });
    running.set(r.id, { controller, done });
  }

  const engine = {
    on(listener: (event: EngineEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: async (id: string): Promise<Readonly<Rotation> | undefined> => {
      const r = await load(id);
      return r && structuredClone(r);
    },
    list: () => deps.journal.list(),
    /**
     * Why the rotation's journal could not be written, as one line with the fix; undefined when it
     * was (or nothing was tried). Its last journaled state stands; `rotabot resume` continues from it.
     */
    writeFailure: (id: string): string | undefined => writeFailures.get(id),
    /** Every rotation whose journal could not be written, with why. */
    writeFailures: (): [id: string, message: string][] => [...writeFailures],
    /** Journals that cannot be read: each with what is wrong (resume and abort rebuild them). */
    damaged: () => deps.journal.damaged(),
    async active(): Promise<Readonly<Rotation>[]> {
      return (await deps.journal.list()).filter((r) => !isTerminal(r)).map((r) => structuredClone(live.get(r.id) ?? r));
    },

    /** Resolves when the rotation stops moving (waits for the operator, fails or ends). */
    async settled(id: string): Promise<Readonly<Rotation> | undefined> {
      for (;;) {
        const [queued, step, followUp] = [queues.get(id), running.get(id)?.done, followUps.get(id)];
        await Promise.all([queued, step, followUp].map((p) => (p ?? Promise.resolve()).catch(() => undefined)));
        // Done when nothing new started while we waited.
        if (queued === queues.get(id) && step === running.get(id)?.done && followUp === followUps.get(id)) break;
      }
      return engine.get(id);
    },

    /**
     * Call when a plan is shown: starts the slow part of the start checks (`--list-tasks` for every
     * playbook step) while the operator reads it, so Start does not wait for it. Never fails.
     */
    prepare(request: Pick<StartRequest, "procedure" | "key">): void {
      checkPlaybooksSelectTasks({ runbook: deps.runbook, placeholders, selectsTasks }, request).catch(
        (error: unknown) => deps.logger.warn({ err: error }, "checking the playbook steps ahead of Start failed"),
      );
    },

    async start(request: StartRequest): Promise<EngineResult> {
      const checked = await checkCanStart(
        {
          ...deps,
          load,
          inspect: (id) => deps.journal.inspect(id),
          active: () => engine.active(),
          changelogFile: deps.paths.changelogFile,
          selectsTasks,
          placeholders,
        },
        request,
      );
      if (!checked.ok) return checked;
      const rotation = newRotation(deps.runbook, request, deps.now(), deps.self);
      const lock = await deps.locks.acquire(request.key, {
        rotationId: rotation.id,
        initiator: request.initiator.name,
        startedAt: rotation.createdAt,
        ...deps.self,
      });
      if (!lock.ok) return fail("refused", lock.refusal);
      const saved = await saveJournal(rotation);
      if (!saved.ok) {
        await deps.locks.release(request.key, rotation.id);
        return fail("refused", saved.message);
      }
      live.set(rotation.id, rotation);
      const ending = checked.leftoverNew === undefined ? undefined : endingIn(request.procedure, checked.leftoverNew);
      return dispatch(rotation.id, {
        type: "begin",
        oldEnding: checked.oldEnding,
        ...(ending !== undefined ? { leftoverNewEnding: ending } : {}),
      });
    },

    /**
     * Whether `actor` may answer the current prompt with `response` now (the checks of
     * answer-rules.ts: stale nonce, abort under way, who may answer, expiry, what it accepts),
     * without answering it: for a front end's own use of a prompt, such as posting it again.
     */
    async mayAnswer(id: string, nonce: string, response: ResponseType, actor: Actor): Promise<EngineResult> {
      const r = await load(id);
      if (!r) return fail("not_found", REFUSALS.notFound(id));
      return checkAnswer(r, nonce, response, actor, context(r)) ?? { ok: true, rotation: r };
    },

    /** An operator's answer to the current prompt; the nonce makes stale and repeated answers harmless. */
    async respond(
      id: string,
      nonce: string,
      response: OperatorResponse,
      actor: Actor,
      options: { breakGlass?: string } = {},
    ): Promise<EngineResult> {
      const r = await load(id);
      if (!r) return fail("not_found", REFUSALS.notFound(id));
      if (running.has(id)) return fail("busy", REFUSALS.busy);
      if (ownedElsewhere(r)) return fail("busy", REFUSALS.ownedElsewhere(r));
      const refused = checkAnswer(r, nonce, response.type, actor, context(r), options.breakGlass);
      if (refused) return refused;
      const prepared = await prepareAnswer(r, nonce, response, actor, options, deps);
      if (!prepared.ok) return prepared;
      // Cancel and Abort return once the abort is journaled ("aborting"): the rollback's steps and
      // its end come as events ("aborting", "rollback_step", "aborted" or "rollback_failed").
      return dispatch(id, prepared.input);
    },

    /**
     * Aborts before the point of no return: stops a running command, drops `<key>_new`, runs
     * rollback steps. Returns once the abort is journaled (the rotation is "aborting"); the
     * rollback runs on, heard as events, and `settled(id)` resolves at its end. `retryRollback`
     * runs a failed rollback again, from where it failed.
     */
    async abort(id: string, actor: Actor, options: { retryRollback?: boolean } = {}): Promise<EngineResult> {
      const loaded = await loadOrRebuild(id);
      if (!loaded.ok) return loaded;
      const r = loaded.rotation;
      const input = { type: "abort" as const, actor, ...(options.retryRollback ? { retryRollback: true } : {}) };
      // Pure, so a dry run: "past the point of no return" is said even while another process drives it.
      const dry = transition(r, input, context(r));
      if (!dry.ok) return dry;
      if (ownedElsewhere(r)) return fail("busy", REFUSALS.ownedElsewhere(r));
      return dispatch(id, input);
    },

    /** Someone says the credentials an ended rotation left unused (listed at its abort) were revoked. */
    async markRevoked(id: string, actor: Actor): Promise<EngineResult> {
      const r = await load(id);
      if (!r) return fail("not_found", REFUSALS.notFound(id));
      if (ownedElsewhere(r)) return fail("busy", REFUSALS.ownedElsewhere(r));
      return dispatch(id, { type: "revoked", actor });
    },

    /** Rotations, ended or not, that left credentials created outside rotabot unused and not yet said revoked. */
    async leftOutside(): Promise<Readonly<Rotation>[]> {
      return (await deps.journal.list())
        .map((r) => live.get(r.id) ?? r)
        .filter((r) => (isTerminal(r) || r.state === "rollback_failed") && unusedCredentials(r).length > 0)
        .map((r) => structuredClone(r));
    },

    /** After a restart: marks what was running as interrupted. Call once at start-up, before front ends answer. */
    async recover(): Promise<Readonly<Rotation>[]> {
      // A marker of a rotation still in flight stays: its vault is half-rotated until it is resumed or aborted.
      await deps.deployMarker?.clearStale(async (id) => {
        const r = await load(id);
        return r !== undefined && !isTerminal(r);
      });
      const swept = await deps.files.sweepTemps();
      if (swept.length > 0) deps.logger.warn({ files: swept }, "removed temp files left by an interrupted write");
      const recovered: Readonly<Rotation>[] = [];
      for (const r of await deps.journal.list()) {
        if (isTerminal(r) || running.has(r.id) || ownedElsewhere(r)) continue;
        const result = await dispatch(r.id, { type: "recover" });
        if (!result.ok) continue;
        const { awaiting } = result.rotation;
        if (awaiting?.expiresAt && !awaiting.expired) {
          await perform(result.rotation, { type: "schedule_expiry", nonce: awaiting.nonce, at: awaiting.expiresAt });
        }
        recovered.push(result.rotation);
      }
      return recovered;
    },

    /** Continues a stopped rotation: an idempotent step re-runs, any other asks; a waiting prompt is asked again. */
    async resume(id: string): Promise<EngineResult> {
      const loaded = await loadOrRebuild(id);
      if (!loaded.ok) return loaded;
      const r = loaded.rotation;
      if (running.has(id)) return fail("busy", REFUSALS.alreadyRunning);
      if (ownedElsewhere(r)) return fail("busy", REFUSALS.ownedElsewhere(r));
      if (!r.awaiting && !isTerminal(r)) {
        await deps.files.sweepTemps();
        const values = await readSecretValues(deps.vault, deps.redactor, r.key);
        if (!values.ok) return fail("refused", values.message);
      }
      return dispatch(id, { type: "resume" });
    },

    /**
     * Stops for a shutdown (SIGTERM): no rotation starts another step; a running command or
     * rollback gets `graceMs` to finish, then it is stopped. A stopped step is journaled as
     * interrupted (/resume continues it after the restart), a stopped rollback as an interrupted
     * abort (abort again to finish it); either is announced.
     */
    async stopAll(graceMs = 0): Promise<void> {
      stopping = true;
      for (const cancel of timers.values()) cancel();
      timers.clear();
      const inFlight = () => [...running.values(), ...rollbacks.values()];
      const allDone = () => Promise.all(inFlight().map((d) => d.done));
      if (graceMs > 0 && inFlight().length > 0) {
        const rotations = [...new Set([...running.keys(), ...rollbacks.keys()])];
        deps.logger.info({ rotations, graceMs }, "stopping: letting running steps and rollbacks finish");
        let cancel: (() => void) | undefined;
        await Promise.race([
          allDone(),
          new Promise((resolve) => (cancel = setTimer(() => resolve(undefined), graceMs, { keepAlive: true }))),
        ]);
        cancel?.();
      }
      for (const { controller } of inFlight()) controller.abort();
      await allDone();
      await Promise.all([...queues.values()]);
    },
  };
  return engine;
}
export type RotationEngine = ReturnType<typeof createRotationEngine>;
