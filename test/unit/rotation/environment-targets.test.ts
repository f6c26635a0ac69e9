import { describe, expect, it } from "vitest";
import type { CheckServices } from "../../../src/checks/check-kind.js";
import type { Rotation } from "../../../src/model/rotation.js";
import { natsReloadStep } from "../../../src/steps/nats-reload.js";
import type { StepDeps, StepRun } from "../../../src/steps/step-kind.js";
import { verifyStep } from "../../../src/steps/verify.js";

// The runbook's `environments[].env` says where each environment's services are: rotabot's own
// checks and the reload's /varz must go there, not to the process's PGHOST/NATS_URL (staging).
const PRODUCTION = {
  name: "production",
  inventory: "infra/inventory/production.yml",
  env: {
    PGHOST: "db.production",
    NATS_URL: "nats://nats.production:4222",
    NATS_MONITOR_URL: "http://nats.production:8222",
  },
};
const PROCESS_ENV = {
  PGHOST: "db.staging",
  NATS_URL: "nats://nats.staging:4222",
  NATS_MONITOR_URL: "http://nats.staging:8222",
};

function world() {
  const seen: { service: string; where: unknown }[] = [];
  let loads = 0;
  const services = {
    postgres: {
      login: (_target: unknown, _password: string, overlay?: Record<string, string>) => {
        seen.push({ service: "postgres", where: overlay?.PGHOST });
        return Promise.resolve({ ok: true, note: "logged in" });
      },
    },
    nats: {
      streamHealth: (_target: unknown, _password: string, overlay?: Record<string, string>) => {
        seen.push({ service: "nats", where: overlay?.NATS_URL });
        return Promise.resolve({ ok: true, note: "healthy" });
      },
      configLoadTime: (monitorUrl: string) => {
        seen.push({ service: "varz", where: monitorUrl });
        return Promise.resolve(`2025-01-01T00:00:0${loads++}Z`);
      },
    },
  } as unknown as CheckServices;
  const deps = {
    services,
    env: PROCESS_ENV,
    paths: { vaultPasswordFile: "/pass", infraDir: "/infra", stateDir: "/state" },
    runCommand: () => Promise.resolve({ ok: true, exitCode: 0, tail: [] }),
  } as unknown as StepDeps;
  const run: StepRun = {
    rotation: { id: "r1", key: "vault_x", steps: [] } as unknown as Rotation,
    record: { id: "s@production" } as StepRun["record"],
    environment: PRODUCTION,
    signal: new AbortController().signal,
    onLine: () => undefined,
    logFile: "/state/log",
    values: () => Promise.resolve({ ok: true, values: { current: "old", next: "new", promoted: false } }),
  };
  return { seen, deps, run };
}

describe("per-environment steps reach that environment's services", () => {
  it("logs in to the environment's PostgreSQL and NATS in a verify step, not the process's", async () => {
    const { seen, deps, run } = world();
    const login = verifyStep.schema.parse({
      id: "login_new",
      kind: "verify",
      title: "Log in",
      check: { builtin: "postgres_login", role: "akira_app", database: "akira", use: "new" },
    });
    const health = verifyStep.schema.parse({
      id: "verify_health",
      kind: "verify",
      title: "Health",
      check: { builtin: "nats_stream_health", stream: "S", consumer: "c", use: "new" },
    });
    expect(await verifyStep.execute(login, run, deps)).toMatchObject({ status: "done" });
    expect(await verifyStep.execute(health, run, deps)).toMatchObject({ status: "done" });
    expect(seen).toEqual([
      { service: "postgres", where: "db.production" },
      { service: "nats", where: "nats://nats.production:4222" },
    ]);
  });

  it("confirms a NATS reload on the environment's /varz, not the process's", async () => {
    const { seen, deps, run } = world();
    const reload = natsReloadStep.schema.parse({
      id: "reload",
      kind: "nats_reload",
      title: "Reload NATS",
      config_test: ["true"],
      reload: ["true"],
    });
    expect(await natsReloadStep.execute(reload, run, deps)).toMatchObject({ status: "done" });
    expect(seen.map((s) => s.where)).toEqual(["http://nats.production:8222", "http://nats.production:8222"]);
  });
});
