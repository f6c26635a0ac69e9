import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Logger } from "../logging/create-logger.js";
import type { EpilogueStep, Procedure, Step } from "../runbook/runbook-schema.js";
import { fail, type Result } from "../result.js";
import { newKeyOf } from "../vault/create-vault.js";
import type { Journal } from "./create-journal.js";
import type { SecretLocks } from "./create-secret-locks.js";
import { checkCanStart } from "./check-can-start.js";
import { executeStep } from "./execute-step.js";
import { newRotation } from "./new-rotation.js";
import { readSecretValues } from "./read-secret-values.js";
import { rollBack } from "./roll-back.js";
import { takeCollectedValue } from "./take-collected-value.js";
import {
  currentStep,
  TERMINAL_STATES,
  type Actor,
  type Awaiting,
  type OperatorResponse,
  type ResponseType,
  type Rotation,
  type StepRecord,
} from "./rotation-model.js";
import type { StepDeps, StepOutcome } from "./step-context.js";

/** What front ends (chat, shell, audit) hear from the engine; never carries a secret value. */
export type EngineEvent =
  | { type: "started"; rotation: Rotation }
  | { type: "step_started"; rotation: Rotation; step: StepRecord }
  | { type: "output"; rotation: Rotation; step: StepRecord; line: string }
  | { type: "step_finished"; rotation: Rotation; step: StepRecord; ms: number }
  | { type: "step_failed"; rotation: Rotation; step: StepRecord; ms: number }
  | { type: "awaiting"; rotation: Rotation; awaiting: Awaiting }
  | { type: "answered"; rotation: Rotation; step: StepRecord; response: ResponseType; actor: Actor }
  | { type: "completed"; rotation: Rotation }
  | { type: "aborted"; rotation: Rotation; actor: Actor }
  | { type: "owner_notified"; rotation: Rotation; owner: string | undefined }
  | { type: "interrupted"; rotation: Rotation };

export interface StartRequest {
  procedure: Procedure;
  key: string;
  initiator: Actor;
  environment?: string;
  incident?: { reason: string };
  owner?: string | undefined;
}

export interface EngineDeps extends StepDeps {
  journal: Journal;
  locks: SecretLocks;
  logger: Logger;
  /** This process, recorded on the rotations it drives. */
  self: { pid: number; host: string };
  /** Whether a process on this host is alive (a crashed owner frees its rotations). */
  isAlive: (pid: number) => boolean;
}

type EngineResult = Result<{ rotation: Rotation }, "refused" | "not_found" | "stale" | "busy" | "invalid">;

/**
 * Runs runbook procedures as journaled state machines. Steps run in the background; the engine
 * stops at every operator decision (confirmations, tokens, manual actions, failures) and waits
 * for `respond` with the prompt's nonce. Front ends never await a step.
 */
export function createRotationEngine(deps: EngineDeps) {
  const listeners = new Set<(event: EngineEvent) => void>();
  const live = new Map<string, Rotation>();
  const driving = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Set by stopAll: rotations finish the step in hand and stop before the next one. */
  let stopping = false;
  const stamp = () => deps.now().toISOString();
  const emit = (event: EngineEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        deps.logger.error({ err: error, event: event.type }, "an engine listener failed");
      }
    }
  };
  const save = async (rotation: Rotation) => {
    rotation.updatedAt = stamp();
    live.set(rotation.id, rotation);
    await deps.journal.save(rotation);
  };
  const load = async (id: string) => live.get(id) ?? (await deps.journal.load(id));
  /** A rotation driven by another live process on this host: only that process may touch it. */
  const ownedElsewhere = (rotation: Rotation) =>
    rotation.process !== undefined &&
    rotation.process.pid !== deps.self.pid &&
    rotation.process.host === deps.self.host &&
    !TERMINAL_STATES.has(rotation.state) &&
    deps.isAlive(rotation.process.pid);
  const elsewhereMessage = (rotation: Rotation) =>
    `rotation ${rotation.id} is being run by another rotabot process (pid ${rotation.process?.pid}); answer it there (the bot or the shell that started it), or stop that process first`;
  const procedureOf = (rotation: Rotation) => deps.runbook.procedures.find((p) => p.id === rotation.procedureId);
  const definitionOf = (rotation: Rotation, record: StepRecord): Step | EpilogueStep | undefined => {
    const procedure = procedureOf(rotation);
    return record.phase === "procedure"
      ? procedure?.steps.find((s) => s.id === record.id)
      : deps.runbook.epilogue.find((s) => s.id === record.id);
  };

  async function awaitOperator(
    rotation: Rotation,
    record: StepRecord,
    kind: Awaiting["kind"],
    prompt: string,
    accepts: ResponseType[],
  ): Promise<void> {
    rotation.awaiting = {
      stepId: record.id,
      kind,
      nonce: randomBytes(4).toString("hex"),
      since: stamp(),
      prompt: deps.redactor.redact(prompt),
      accepts,
    };
    if (record.state === "pending" && kind !== "existing_new") record.state = "awaiting";
    if (rotation.state === "running") rotation.state = "awaiting_operator";
    await save(rotation);
    emit({ type: "awaiting", rotation, awaiting: rotation.awaiting });
  }

  async function runStep(
    rotation: Rotation,
    record: StepRecord,
    step: Step | EpilogueStep,
    signal: AbortSignal,
  ): Promise<StepOutcome> {
    record.state = "running";
    record.attempts++;
    record.startedAt = stamp();
    record.logFile = path.join(deps.paths.stateDir, "logs", rotation.id, `${record.id}.log`);
    if (record.destructive) rotation.pointOfNoReturn ??= { stepId: record.id, at: stamp() };
    rotation.state = "running";
    await save(rotation);
    emit({ type: "step_started", rotation, step: record });
    if (step.kind === "collect" || step.kind === "confirm") return { status: "done" };
    if (step.kind === "manual") {
      if (!step.check) return { status: "done", note: `done, says ${record.confirmedBy?.name ?? "the operator"}` };
      return executeStep(
        { id: step.id, title: step.title, kind: "verify", check: step.check, destructive: false, timeout: "1m" },
        {
          rotation,
          record,
          step,
          procedure: procedureOf(rotation)!,
          signal,
          logFile: record.logFile,
          onLine: (line) => emit({ type: "output", rotation, step: record, line }),
        },
        deps,
      );
    }
    return executeStep(
      step,
      {
        rotation,
        record,
        step,
        procedure: procedureOf(rotation)!,
        signal,
        logFile: record.logFile,
        onLine: (line) => emit({ type: "output", rotation, step: record, line }),
      },
      deps,
    );
  }

  /** Runs steps until the rotation needs the operator, fails, or completes. */
  async function drive(rotation: Rotation, signal: AbortSignal): Promise<void> {
    const values = await readSecretValues(deps.vault, deps.redactor, rotation.key);
    if (!values.ok) {
      rotation.state = "failed";
      rotation.message = values.message;
      await save(rotation);
      return;
    }
    for (;;) {
      if (signal.aborted) return;
      if (stopping) return stopBetweenSteps(rotation);
      const record = currentStep(rotation);
      if (!record) return complete(rotation);
      const step = definitionOf(rotation, record);
      if (!step) {
        rotation.state = "failed";
        rotation.message = `step ${record.id} is no longer in the runbook; restore the runbook this rotation started with, or finish by hand`;
        await save(rotation);
        return;
      }
      if (record.state !== "pending") return;
      if (step.kind === "collect")
        return awaitOperator(rotation, record, "collect", step.prompt, ["collect", "added_myself", "cancel"]);
      if (step.kind === "manual" && !record.confirmedBy) {
        const warning = step.destructive
          ? "\n\nThis cannot be undone: once you press Done, the rotation can no longer be aborted."
          : "";
        return awaitOperator(rotation, record, "manual", `${step.instruction}${warning}`, ["done", "cancel"]);
      }
      if (step.kind === "confirm" && !record.confirmedBy)
        return awaitOperator(rotation, record, "confirm", step.message, ["go", "cancel"]);
      if (step.destructive && step.kind !== "manual" && !record.confirmedBy) {
        return awaitOperator(
          rotation,
          record,
          "destructive",
          `${step.title}. This cannot be undone, and the rotation can no longer be aborted after it.`,
          ["go", "cancel"],
        );
      }
      const started = Date.now();
      const outcome = await runStep(rotation, record, step, signal);
      record.endedAt = stamp();
      const ms = Date.now() - started;
      if (outcome.status === "failed") {
        record.state = signal.aborted ? "interrupted" : "failed";
        record.message = deps.redactor.redact(outcome.message);
        rotation.state = signal.aborted ? "interrupted" : "failed";
        rotation.message = `${record.title}: ${record.message}`;
        await save(rotation);
        if (signal.aborted) {
          emit({ type: "interrupted", rotation });
          return;
        }
        emit({ type: "step_failed", rotation, step: record, ms });
        const accepts: ResponseType[] = [
          "retry",
          "mark_done",
          ...(rotation.pointOfNoReturn ? [] : (["abort"] as const)),
        ];
        return awaitOperator(rotation, record, "failed", `${record.title} failed: ${record.message}`, accepts);
      }
      record.state = outcome.status;
      if (outcome.note) record.message = deps.redactor.redact(outcome.note);
      rotation.state = "running";
      await save(rotation);
      emit({ type: "step_finished", rotation, step: record, ms });
      if (step.kind === "notify_owner") emit({ type: "owner_notified", rotation, owner: rotation.owner });
    }
  }

  async function complete(rotation: Rotation): Promise<void> {
    rotation.state = "completed";
    rotation.endedAt = stamp();
    rotation.message = `${rotation.key} rotated${rotation.commit ? `, commit ${rotation.commit}` : ""}`;
    delete rotation.awaiting;
    await save(rotation);
    await deps.locks.release(rotation.key, rotation.id);
    emit({ type: "completed", rotation });
  }

  async function stopBetweenSteps(rotation: Rotation): Promise<void> {
    const next = currentStep(rotation);
    rotation.state = "interrupted";
    rotation.message = `rotabot stopped${next ? ` before “${next.title}”` : ""}; nothing is running`;
    await save(rotation);
    emit({ type: "interrupted", rotation });
  }

  /** Starts driving in the background; callers never await steps. */
  function kick(rotation: Rotation): void {
    rotation.process = deps.self;
    const controller = new AbortController();
    const done = drive(rotation, controller.signal)
      .catch(async (error: unknown) => {
        deps.logger.error({ err: error, rotationId: rotation.id }, "rotation stopped on an unexpected error");
        rotation.state = "failed";
        rotation.message = deps.redactor.redact(
          `unexpected error: ${error instanceof Error ? error.message : String(error)}; see the rotabot log, then resume`,
        );
        await save(rotation).catch(() => undefined);
      })
      .finally(() => driving.delete(rotation.id));
    driving.set(rotation.id, { controller, done });
  }

  const engine = {
    on(listener: (event: EngineEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    get: load,
    list: () => deps.journal.list(),
    async active(): Promise<Rotation[]> {
      return (await deps.journal.list()).filter((r) => !TERMINAL_STATES.has(r.state)).map((r) => live.get(r.id) ?? r);
    },

    /** Resolves when the rotation stops moving (waits for the operator, fails or ends). */
    async settled(id: string): Promise<Rotation | undefined> {
      await driving.get(id)?.done;
      return load(id);
    },

    async start(request: StartRequest): Promise<EngineResult> {
      const checked = await checkCanStart(deps, request, { load, active: () => engine.active() });
      if (!checked.ok) return checked;
      const rotation = newRotation(deps.runbook, request, deps.now(), deps.self);
      const lock = await deps.locks.acquire(request.key, {
        rotationId: rotation.id,
        initiator: request.initiator.name,
        startedAt: rotation.createdAt,
      });
      if (!lock.ok)
        return fail(
          "refused",
          `${request.key} is already being rotated by ${lock.holder.initiator} (rotation ${lock.holder.rotationId})`,
        );
      await save(rotation);
      emit({ type: "started", rotation });
      if (checked.leftoverNew !== undefined) {
        const first = rotation.steps[0]!;
        await awaitOperator(
          rotation,
          first,
          "existing_new",
          `${newKeyOf(request.key)} is already in the vault from an earlier attempt (ends in …${checked.leftoverNew.slice(-4)}). Reuse it, or replace it with a new value?`,
          ["reuse_new", "replace_new", "cancel"],
        );
        return { ok: true, rotation };
      }
      kick(rotation);
      return { ok: true, rotation };
    },

    /** An operator's answer to the current prompt; the nonce makes stale and repeated answers harmless. */
    async respond(id: string, nonce: string, response: OperatorResponse, actor: Actor): Promise<EngineResult> {
      const rotation = await load(id);
      if (!rotation) return fail("not_found", `there is no rotation ${id}; /status lists the active ones`);
      if (driving.has(id)) return fail("busy", "a step is running; wait for it to finish");
      if (ownedElsewhere(rotation)) return fail("busy", elsewhereMessage(rotation));
      const awaiting = rotation.awaiting;
      if (!awaiting || awaiting.nonce !== nonce)
        return fail(
          "stale",
          "this prompt is no longer current (already answered or replaced); use the latest message, or /status",
        );
      if (!awaiting.accepts.includes(response.type))
        return fail("invalid", `this prompt accepts ${awaiting.accepts.join(", ")}`);
      const record = rotation.steps.find((s) => s.id === awaiting.stepId)!;
      delete rotation.awaiting;
      emit({ type: "answered", rotation, step: record, response: response.type, actor });

      switch (response.type) {
        case "cancel":
        case "abort": {
          rotation.awaiting = awaiting;
          return engine.abort(id, actor);
        }
        case "go":
          record.confirmedBy = actor;
          record.state = "pending";
          if (definitionOf(rotation, record)?.kind === "confirm") {
            record.state = "done";
            record.message = `confirmed by ${actor.name}`;
          }
          break;
        case "done":
          record.confirmedBy = actor;
          record.state = "pending";
          break;
        case "collect":
        case "added_myself": {
          const step = definitionOf(rotation, record);
          if (step?.kind !== "collect") return fail("invalid", "this step does not take a value");
          const taken = await takeCollectedValue({ key: rotation.key, step, response, actor }, deps);
          if (!taken.ok) {
            await awaitOperator(rotation, record, "collect", taken.prompt, awaiting.accepts);
            return { ok: true, rotation };
          }
          record.state = "done";
          record.attempts++;
          record.endedAt = stamp();
          record.message = taken.note;
          emit({ type: "step_finished", rotation, step: record, ms: 0 });
          break;
        }
        case "retry":
          record.state = "pending";
          break;
        case "mark_done":
          record.state = "done";
          record.message = `marked done by ${actor.name}`;
          if (record.destructive) rotation.pointOfNoReturn ??= { stepId: record.id, at: stamp() };
          break;
        case "reuse_new":
          for (const step of rotation.steps) {
            if (step.kind === "generate" || step.kind === "collect") {
              step.state = "skipped";
              step.message = `reusing ${newKeyOf(rotation.key)} from an earlier attempt (${actor.name})`;
              emit({ type: "step_finished", rotation, step, ms: 0 });
            }
          }
          break;
        case "replace_new": {
          const dropped = await deps.vault.dropNew(rotation.key);
          if (!dropped.ok) {
            rotation.awaiting = awaiting;
            return fail("refused", dropped.message);
          }
          break;
        }
      }
      rotation.state = "running";
      await save(rotation);
      kick(rotation);
      return { ok: true, rotation };
    },

    /** Aborts before the point of no return: stops a running command, drops `<key>_new`, runs rollback steps. */
    async abort(id: string, actor: Actor): Promise<EngineResult> {
      const rotation = await load(id);
      if (!rotation) return fail("not_found", `there is no rotation ${id}`);
      if (TERMINAL_STATES.has(rotation.state))
        return fail(
          "refused",
          `rotation ${id} has already ${rotation.state === "completed" ? "completed" : "been aborted"}`,
        );
      if (rotation.pointOfNoReturn) {
        const step = rotation.steps.find((s) => s.id === rotation.pointOfNoReturn!.stepId);
        return fail(
          "refused",
          `abort is no longer possible: "${step?.title ?? rotation.pointOfNoReturn.stepId}" has run and cannot be undone. Finish the rotation: resume it, retry or mark the remaining steps done`,
        );
      }
      if (ownedElsewhere(rotation)) return fail("busy", elsewhereMessage(rotation));
      const running = driving.get(id);
      if (running) {
        running.controller.abort();
        await running.done;
      }
      await deps.files.sweepTemps();
      const problems = await rollBack(rotation, deps);
      for (const step of rotation.steps)
        if (step.state === "running" || step.state === "awaiting") step.state = "interrupted";
      rotation.state = "aborted";
      rotation.endedAt = stamp();
      delete rotation.awaiting;
      rotation.message =
        problems.length === 0
          ? `aborted by ${actor.name}; ${newKeyOf(rotation.key)} removed from the vault, nothing else changed`
          : `aborted by ${actor.name}, but the rollback needs attention: ${problems.join("; ")}`;
      await save(rotation);
      await deps.locks.release(rotation.key, rotation.id);
      emit({ type: "aborted", rotation, actor });
      return { ok: true, rotation };
    },

    /**
     * After a restart: marks what was running as interrupted. Call once at start-up,
     * before any front end answers prompts.
     */
    async recover(): Promise<Rotation[]> {
      const recovered: Rotation[] = [];
      const swept = await deps.files.sweepTemps();
      if (swept.length > 0) deps.logger.warn({ files: swept }, "removed temp files left by an interrupted write");
      for (const rotation of await deps.journal.list()) {
        if (TERMINAL_STATES.has(rotation.state) || driving.has(rotation.id) || ownedElsewhere(rotation)) continue;
        const running = rotation.steps.find((s) => s.state === "running");
        if (running) {
          running.state = "interrupted";
          running.message = "rotabot stopped while this step was running";
        }
        if (running || rotation.state === "running") {
          rotation.state = "interrupted";
          await save(rotation);
          emit({ type: "interrupted", rotation });
        }
        live.set(rotation.id, rotation);
        recovered.push(rotation);
      }
      return recovered;
    },

    /**
     * Continues an interrupted rotation: an idempotent step is re-run, any other asks the
     * operator to retry, mark done or abort. A rotation waiting for an answer shows its prompt again.
     */
    async resume(id: string): Promise<EngineResult> {
      const rotation = await load(id);
      if (!rotation) return fail("not_found", `there is no rotation ${id}; rotabot status lists the active ones`);
      if (TERMINAL_STATES.has(rotation.state))
        return fail("refused", `rotation ${id} has already ended (${rotation.state})`);
      if (driving.has(id)) return fail("busy", "the rotation is already running");
      if (ownedElsewhere(rotation)) return fail("busy", elsewhereMessage(rotation));
      rotation.process = deps.self;
      if (rotation.awaiting) {
        // A fresh nonce: buttons of the earlier prompt (expired, or from before a restart) stop working.
        rotation.awaiting = { ...rotation.awaiting, nonce: randomBytes(4).toString("hex"), since: stamp() };
        await save(rotation);
        emit({ type: "awaiting", rotation, awaiting: rotation.awaiting });
        return { ok: true, rotation };
      }
      await deps.files.sweepTemps();
      const values = await readSecretValues(deps.vault, deps.redactor, rotation.key);
      if (!values.ok) return fail("refused", values.message);
      const record = currentStep(rotation);
      if (record?.state === "interrupted") {
        if (!record.idempotent) {
          await awaitOperator(
            rotation,
            record,
            "interrupted",
            `"${record.title}" was interrupted while running and may have partly happened. Retry it, mark it done if it completed, or abort.`,
            ["retry", "mark_done", ...(rotation.pointOfNoReturn ? [] : (["abort"] as const))],
          );
          return { ok: true, rotation };
        }
        record.state = "pending";
      }
      rotation.state = "running";
      await save(rotation);
      kick(rotation);
      return { ok: true, rotation };
    },

    /**
     * Stops for a shutdown (SIGTERM): no rotation starts another step; a running command gets
     * `graceMs` to finish, then it is stopped. Either way the rotation is journaled as
     * interrupted and announced, and /resume continues it after the restart.
     */
    async stopAll(graceMs = 0): Promise<void> {
      stopping = true;
      const allDone = () => Promise.all([...driving.values()].map((d) => d.done));
      if (graceMs > 0 && driving.size > 0) {
        deps.logger.info({ rotations: [...driving.keys()], graceMs }, "stopping: letting running steps finish");
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([allDone(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
      }
      for (const { controller } of driving.values()) controller.abort();
      await allDone();
    },
  };
  return engine;
}
export type RotationEngine = ReturnType<typeof createRotationEngine>;
