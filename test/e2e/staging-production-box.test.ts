import { readFileSync } from "node:fs";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app/create-app.js";
import type { Procedure } from "../../src/runbook/runbook-schema.js";
import { natsUserFor } from "../../src/services/nats.js";
import { startStagingBox, type StagingBox } from "../../src/sandbox/start-staging-box.js";
import type { BoxEnvironment } from "../../src/sandbox/start-box-environment.js";
import { PROJECT_ROOT } from "../support/paths.js";
import { pgLogin } from "../support/postgres-login.js";
import { leaks } from "../support/rotation-fixture.js";
import { decryptVault } from "../support/vault-fixture.js";

// Staging and production in one box: two inventories, two PostgreSQL clusters, two NATS containers,
// two sets of app stand-ins, one vault. The shipped procedures run through rotabot's engine (as
// `rotabot rotate` drives it; the chat adds nothing here and costs time), with the shipped runbook's
// environments set to the box's. Every check asks the real service of each environment.

const OPERATOR = { id: "shell:alice", name: "alice" };
const NATS_USER = "akira-{password_sha256_8}";
/**
 * What CI runs keeps it well under 15 minutes: one scenario per procedure (the NATS
 * rotation through the gate; the PostgreSQL abort mid-production, where both environments roll
 * back; and the NATS abort before any change, the only one that may say "nothing else changed").
 * `ROTABOT_BOX_TESTS=full` runs every scenario for both procedures and aborts at every abortable
 * step (18 points each; 21 minutes on an idle 2-core machine).
 */
const FULL = process.env.ROTABOT_BOX_TESTS === "full";
const inCi = (scenario: string) => FULL || ["abort postgres", "abort nats", "rotate nats"].includes(scenario);

let box: StagingBox;
let app: App;
const logs: string[] = [];
const values: string[] = [];

const vaultValue = (key: string) =>
  new RegExp(`^${key}: "([^"]+)"$`, "m").exec(
    decryptVault(path.join(box.infraDir, "infra/group_vars/all/vault.yml"), box.passwordFile),
  )?.[1];
const procedure = (id: string) => app.runbook.procedures.find((p) => p.id === id)!;
const read = (env: BoxEnvironment, file: string) => readFileSync(path.join(env.servicesDir, file), "utf8");

async function natsLogin(env: BoxEnvironment, password: string): Promise<string> {
  return connect({ servers: env.nats.url, user: natsUserFor(NATS_USER, password), pass: password, reconnect: false })
    .then((nc) => nc.close().then(() => "accepted"))
    .catch((error: Error) => `refused: ${error.message}`);
}

/** What each service of each environment holds and accepts, for the old and the new value. */
async function servicesOf(procedureId: "postgres" | "nats", old: string, next: string) {
  return Promise.all(
    box.environments.map(async (env) =>
      procedureId === "postgres"
        ? {
            env: env.name,
            old: await pgLogin(env.postgres, old),
            new: await pgLogin(env.postgres, next),
            clients: ["backend", "cdr-worker", "reports"].map((s) =>
              read(env, `${s}/pgpass`).trim().endsWith(`:${old}`),
            ),
          }
        : {
            env: env.name,
            old: await natsLogin(env, old),
            new: await natsLogin(env, next),
            clients: ["backend", "cdr-worker", "kamailio-cdr-bridge", "tools"].map((s) =>
              read(env, `${s}/nats.env`).includes(`NATS_PASSWORD=${old}\n`),
            ),
            config: [readFileSync(env.nats.conf, "utf8").includes(natsUserFor(NATS_USER, next))],
          },
    ),
  );
}

/** Every service of every environment accepts `accepted` and refuses `refused`, and its clients hold `accepted`. */
function onValue(procedureId: "postgres" | "nats") {
  const refused =
    procedureId === "postgres" ? /^refused: password authentication failed/ : /^refused: .*Authorization Violation/i;
  return box.environments.map((env) => ({
    env: env.name,
    old: procedureId === "postgres" ? "akira_app" : "accepted",
    new: expect.stringMatching(refused) as string,
    clients: procedureId === "postgres" ? [true, true, true] : [true, true, true, true],
    ...(procedureId === "nats" ? { config: [false] } : {}),
  }));
}

/**
 * Runs a rotation, confirming every prompt (the maintenance window, the gate into production, the
 * rename). With `abortAt`, aborts when that step starts or asks, as an operator's Abort would.
 */
async function rotate(procedureId: string, abortAt?: string) {
  const proc = procedure(procedureId);
  const key = proc.secret!;
  let id: string | undefined;
  let newValue: string | undefined;
  let aborted: Promise<unknown> | undefined;
  const off = app.engine.on((event) => {
    // The first steps run before start() returns: take the id from the start event.
    if (id === undefined && event.type === "started" && event.rotation.key === key) id = event.rotation.id;
    if (event.rotation.id !== id) return;
    if (event.type === "step_finished" && event.step.stepId === "generate") newValue = vaultValue(`${key}_new`);
    const at =
      (event.type === "step_started" && event.step.id === abortAt) ||
      (event.type === "awaiting" && event.awaiting.stepId === abortAt && event.awaiting.kind !== "failed");
    if (at && !aborted) {
      aborted = app.engine.abort(event.rotation.id, OPERATOR).then((result) => {
        if (!result.ok) throw new Error(`abort at ${abortAt} refused: ${result.message}`);
      });
    }
  });
  try {
    const started = await app.engine.start({ procedure: proc, key, initiator: OPERATOR });
    if (!started.ok) throw new Error(started.message);
    id = started.rotation.id;
    for (;;) {
      if (aborted) await aborted;
      const r = (await app.engine.settled(id))!;
      // A rollback that fails keeps the rotation in flight: nothing more will move it here.
      if (r.state === "rollback_failed") throw new Error(`the rollback failed: ${r.message ?? ""}`);
      if (r.state === "completed" || r.state === "aborted") {
        if (newValue !== undefined) values.push(newValue);
        return { rotation: r, newValue };
      }
      if (aborted) continue;
      const awaiting = r.awaiting;
      if (!awaiting || !awaiting.accepts.includes("go")) {
        throw new Error(`rotation stopped at ${awaiting?.stepId ?? r.state}: ${awaiting?.prompt ?? r.message ?? ""}`);
      }
      const answered = await app.engine.respond(id, awaiting.nonce, { type: "go" }, OPERATOR);
      if (!answered.ok && !aborted) throw new Error(answered.message);
    }
  } finally {
    off();
  }
}

/**
 * What an abort must have rolled back: each rollback step in each environment the rotation had
 * changed a service in (the last first), steps that run once once; `<key>_new` is dropped anyway.
 */
function expectedUndo(proc: Procedure, reached: readonly string[]): string[] {
  const perEnvironment = (kind: string) => kind !== "vault_drop_new";
  const undo: string[] = [];
  const steps = proc.rollback;
  for (let i = 0; i < steps.length;) {
    if (!perEnvironment(steps[i]!.kind)) {
      i++;
      continue;
    }
    let end = i;
    while (end < steps.length && perEnvironment(steps[end]!.kind)) end++;
    for (const env of [...reached].reverse()) for (const s of steps.slice(i, end)) undo.push(`${s.title} (${env})`);
    i = end;
  }
  return undo;
}

/** The steps an operator can abort at: every step before the rename, in order. */
function abortPoints(procedureId: string): string[] {
  const proc = procedure(procedureId);
  const envs = app.runbook.environments.map((e) => e.name);
  const perEnv = proc.steps.slice(
    proc.steps.findIndex((s) => s.kind !== "generate" && s.kind !== "vault_add_new"),
    proc.steps.findIndex((s) => s.destructive),
  );
  const [first, ...rest] = envs;
  return [
    "generate",
    "add_new",
    ...perEnv.map((s) => `${s.id}@${first}`),
    `smoke_test-before-gate@${first}`,
    ...rest.flatMap((env) => [`gate@${env}`, ...perEnv.map((s) => `${s.id}@${env}`)]),
  ];
}

beforeAll(async () => {
  box = await startStagingBox({ packageRoot: PROJECT_ROOT, env: process.env, environments: ["staging", "production"] });
  values.push(...Object.values(box.secrets), readFileSync(box.passwordFile, "utf8").trim());
  const opened = await createApp(
    { env: box.rotabotEnv, packageRoot: PROJECT_ROOT, now: () => new Date(), stderr: (text) => void logs.push(text) },
    { purpose: "cli" },
  );
  if (!opened.ok) throw new Error(opened.message);
  app = opened.app;
  await app.engine.recover();
}, 180_000);

afterAll(async () => {
  await app?.engine.stopAll();
  await box?.stop();
});

describe("staging and production in a box: rollout with a gate, honest abort", { timeout: 900_000 }, () => {
  it("runs the shipped runbook with the box's two environments, each with its own services", () => {
    expect(app.runbook.environments.map((e) => [e.name, e.inventory])).toEqual([
      ["staging", "infra/inventory/staging.yml"],
      ["production", "infra/inventory/production.yml"],
    ]);
    const [staging, production] = box.environments;
    expect(staging!.postgres.port).not.toBe(production!.postgres.port);
    expect(staging!.nats.url).not.toBe(production!.nats.url);
    expect(staging!.servicesDir).not.toBe(production!.servicesDir);
  });

  for (const procedureId of ["nats", "postgres"] as const) {
    it.runIf(inCi(`abort ${procedureId}`))(
      `aborts ${procedureId} ${FULL ? "at every abortable step" : procedureId === "nats" ? "before any change (every abortable step with ROTABOT_BOX_TESTS=full)" : "mid-production (every abortable step with ROTABOT_BOX_TESTS=full)"}: every service of every environment stays on the old value, the message lists what was undone where`,
      async () => {
        const points = abortPoints(procedureId);
        // In CI: PostgreSQL in the middle of production, where both environments are touched
        // (staging fully, production partly) and both roll back; NATS before any change.
        const middle = procedureId === "nats" ? "deploy_backend@production" : "deploy_workers@production";
        const chosen = FULL ? points : procedureId === "nats" ? ["add_new"] : [middle];
        expect(points).toEqual(expect.arrayContaining(chosen));
        const proc = procedure(procedureId);
        // The first step that changes a service in an environment: from there on, it needs a rollback.
        const firstChanging = { nats: "accept_both", postgres: "alter_role" }[procedureId];
        for (const point of chosen) {
          const old = vaultValue(proc.secret!)!;
          const { rotation, newValue } = await rotate(procedureId, point);
          expect(rotation.state, point).toBe("aborted");
          const reached = box.environments
            .map((e) => e.name)
            .filter((env) => points.indexOf(point) >= points.indexOf(`${firstChanging}@${env}`));
          const message = rotation.message ?? "";
          const undone = expectedUndo(proc, reached);
          let at = 0;
          for (const line of undone) {
            const found = message.indexOf(line, at);
            expect(found, `${point}: "${line}" in "${message}"`).toBeGreaterThanOrEqual(at);
            at = found + line.length;
          }
          for (const env of box.environments.map((e) => e.name).filter((e) => !reached.includes(e)))
            expect(message, point).not.toContain(`(${env})`);
          // "nothing had changed" when the abort came before <key>_new was written (generate cancelled).
          expect(/nothing else changed|nothing had changed/.test(message), `${point}: ${message}`).toBe(
            reached.length === 0,
          );
          expect(vaultValue(proc.secret!)).toBe(old);
          expect(vaultValue(`${proc.secret!}_new`)).toBeUndefined();
          if (newValue !== undefined)
            expect(await servicesOf(procedureId, old, newValue), point).toEqual(onValue(procedureId));
        }
      },
    );
  }

  it.runIf(inCi("rotate postgres"))(
    "rotates the PostgreSQL password in staging, then through the gate in production: each cluster accepts only the new one",
    async () => {
      const old = vaultValue("vault_postgres_app_password")!;
      const { rotation, newValue } = await rotate("postgres");
      expect(rotation.state).toBe("completed");
      expect(vaultValue("vault_postgres_app_password")).toBe(newValue);
      const gate = rotation.steps.find((s) => s.id === "gate@production")!;
      expect(gate).toMatchObject({ state: "done", confirmedBy: OPERATOR });
      // Production's role changed only after the gate, and the old value left the vault only after production.
      const order = rotation.steps.map((s) => s.id);
      expect(order.indexOf("alter_role@production")).toBeGreaterThan(order.indexOf("gate@production"));
      expect(order.indexOf("promote")).toBeGreaterThan(order.indexOf("drain@production"));
      for (const env of box.environments) {
        expect(await pgLogin(env.postgres, newValue!), env.name).toBe("akira_app");
        expect(await pgLogin(env.postgres, old), env.name).toMatch(/^refused: password authentication failed/);
        expect(read(env, "backend/pgpass")).toContain(`:akira_app:${newValue}`);
      }
    },
  );

  it.runIf(inCi("rotate nats"))(
    "rotates the NATS password in staging, then through the gate in production: each server accepts only the new one",
    async () => {
      const old = vaultValue("vault_nats_password")!;
      const { rotation, newValue } = await rotate("nats");
      expect(rotation.state).toBe("completed");
      expect(rotation.steps.find((s) => s.id === "gate@production")).toMatchObject({ state: "done" });
      for (const env of box.environments) {
        expect(await natsLogin(env, newValue!), env.name).toBe("accepted");
        expect(await natsLogin(env, old), env.name).toMatch(/Authorization Violation/i);
        for (const client of ["backend", "cdr-worker", "kamailio-cdr-bridge", "tools"])
          expect(read(env, `${client}/nats.env`)).toContain(`NATS_PASSWORD=${newValue}\n`);
      }
    },
  );

  it("leaves no value in rotabot's log, state, journal, command logs or either environment's server logs", async () => {
    await app.flush();
    const texts = [
      logs.join(""),
      ...box.environments.flatMap((env) => [env.postgres.serverLog(), env.nats.log()]),
      await box.git("log", "-p", "--all"),
    ];
    const { readdirSync } = await import("node:fs");
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
      );
    texts.push(...files(box.rotabotEnv.STATE_DIR!).map((f) => readFileSync(f, "latin1")));
    expect(leaks(texts.join("\n"), values)).toEqual([]);
  });
});
