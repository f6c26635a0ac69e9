import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsChecks } from "../../src/services/nats.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { allowedEnv } from "../../src/exec/allowed-env.js";
import { createCommandRunner } from "../../src/exec/create-command-runner.js";
import { createRedactor } from "../../src/logging/redactor.js";
import type { Rotation } from "../../src/model/rotation.js";
import { natsReloadStep } from "../../src/steps/nats-reload.js";
import type { StepDeps, StepRun } from "../../src/steps/step-kind.js";
import { startNats } from "../support/start-nats.js";
import { makePrivateCa, type PrivateCa } from "../support/private-ca.js";

const PASSWORD = "NatsPassword0123456789";
let nats: Awaited<ReturnType<typeof startNats>>;
beforeAll(async () => {
  nats = await startNats([{ user: "akira", password: PASSWORD }]);
  const nc = await connect({ servers: nats.url, user: "akira", pass: PASSWORD });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "AKIRA_CDR", subjects: ["cdr.>"] });
  await jsm.consumers.add("AKIRA_CDR", { durable_name: "cdr_worker", ack_policy: "explicit" });
  await nc.close();
});
afterAll(() => nats?.stop());

describe("NATS built-ins against a real nats-server", () => {
  it("reports stream and consumer health, and refuses a wrong credential", async () => {
    const checks = createNatsChecks({});
    const target = { server: nats.url, user: "akira", stream: "AKIRA_CDR", consumer: "cdr_worker" };
    expect(await checks.streamHealth(target, PASSWORD)).toMatchObject({
      ok: true,
      note: expect.stringMatching(/^stream AKIRA_CDR: 0 messages; consumer cdr_worker: 0 pending/) as string,
    });
    const wrong = await checks.streamHealth(target, "not-the-password");
    expect(wrong).toMatchObject({ ok: false, message: expect.stringContaining("cannot connect to NATS") as string });
    expect(JSON.stringify(wrong)).not.toContain("not-the-password");
    expect(await checks.streamHealth({ ...target, consumer: "nobody" }, PASSWORD)).toMatchObject({
      ok: false,
      message: expect.stringContaining("not healthy") as string,
    });
  });

  it("reads config_load_time, which changes on a real reload", async () => {
    const checks = createNatsChecks({});
    const before = await checks.configLoadTime(nats.monitorUrl);
    expect(before).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    nats.writeConfig([
      { user: "akira", password: PASSWORD },
      { user: "akira_next", password: "NextPassword0123456789" },
    ]);
    const pid = Number(/\[(\d+)\]/.exec(nats.log())![1]);
    process.kill(pid, "SIGHUP");
    await expect.poll(() => checks.configLoadTime(nats.monitorUrl), { timeout: 5_000 }).not.toBe(before);
  });
});

// Issue 21, point 4: NATS over TLS with a private CA (the runbook's production example), made here
// with openssl: the monitoring endpoint is https, and the reload is confirmed there.
describe("NATS over TLS with a private CA (NATS_CA)", () => {
  let secure: Awaited<ReturnType<typeof startNats>>;
  let ca: PrivateCa;
  beforeAll(async () => {
    ca = makePrivateCa();
    secure = await startNats([{ user: "akira", password: PASSWORD }], { tls: ca.issue() });
    const nc = await connect({ servers: secure.url, user: "akira", pass: PASSWORD, tls: { caFile: ca.caFile } });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "AKIRA_CDR", subjects: ["cdr.>"] });
    await jsm.consumers.add("AKIRA_CDR", { durable_name: "cdr_worker", ack_policy: "explicit" });
    await nc.close();
  });
  afterAll(() => secure?.stop());

  it("reads /varz over https only when trusting NATS_CA, and checks the streams over TLS with it", async () => {
    expect(secure.monitorUrl).toMatch(/^https:/);
    expect(await createNatsChecks({}).configLoadTime(secure.monitorUrl)).toBeUndefined();
    const checks = createNatsChecks({ NATS_CA: ca.caFile });
    expect(await checks.configLoadTime(secure.monitorUrl)).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    // The environment's NATS_CA wins over the process's.
    expect(await createNatsChecks({}).configLoadTime(secure.monitorUrl, { NATS_CA: ca.caFile })).toMatch(/^\d{4}-/);
    const target = { server: secure.url, user: "akira", stream: "AKIRA_CDR", consumer: "cdr_worker" };
    expect(await checks.streamHealth(target, PASSWORD)).toMatchObject({ ok: true });
    expect(
      await createNatsChecks({ NATS_CA: makePrivateCa("Another CA").caFile }).streamHealth(target, PASSWORD),
    ).toMatchObject({
      ok: false,
      message: expect.stringContaining("cannot connect to NATS") as string,
    });
  });

  it("confirms a real reload on /varz over https with the environment's NATS_CA (the nats_reload step)", async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), "rotabot-reload-"));
    const deps = {
      services: { nats: createNatsChecks({}) },
      env: {},
      paths: { vaultPasswordFile: "/dev/null", infraDir: stateDir, stateDir },
      runCommand: createCommandRunner({ cwd: stateDir, baseEnv: allowedEnv(process.env), redactor: createRedactor() }),
    } as unknown as StepDeps;
    const step = natsReloadStep.schema.parse({
      id: "reload",
      kind: "nats_reload",
      title: "Reload NATS",
      config_test: ["nats-server", "-t", "-c", secure.conf],
      reload: ["nats-server", "--signal", `reload=${secure.pid}`],
    });
    const run = (env: Record<string, string>): StepRun => ({
      rotation: { id: "r1", key: "vault_nats_password", steps: [] } as unknown as Rotation,
      record: { id: "reload" } as StepRun["record"],
      environment: { name: "production", inventory: "infra/inventory/production.yml", env },
      signal: new AbortController().signal,
      onLine: () => undefined,
      logFile: path.join(stateDir, "reload.log"),
      values: () => Promise.resolve({ ok: false, message: "not needed" }),
    });
    const trusted = { NATS_MONITOR_URL: secure.monitorUrl, NATS_CA: ca.caFile };
    expect(await natsReloadStep.execute(step, run(trusted), deps)).toMatchObject({
      status: "done",
      note: expect.stringMatching(/^NATS reloaded its config \(config_load_time \d{4}-/) as string,
    });
    // Without the CA the same successful reload cannot be confirmed: the step says why and what to set.
    expect(await natsReloadStep.execute(step, run({ NATS_MONITOR_URL: secure.monitorUrl }), deps)).toEqual({
      status: "failed",
      message: `the reload command exited 0, but NATS's monitoring endpoint ${secure.monitorUrl}/varz never answered, so the reload cannot be confirmed: check NATS_MONITOR_URL (and NATS_CA, when it is https with a private CA), then Retry`,
    });
  }, 60_000);
});

// Issue 21, point 6: NATS users nobody migrated. What the real nats-server 2.9.10 does here.
describe("clients on an old NATS user, before and after it is dropped", () => {
  it("names them on /connz?auth=true, and a dropped user's connections are closed and its password refused", async () => {
    const server = await startNats([
      { user: "akira", password: PASSWORD },
      { user: "akira-next", password: "NextPassword0123456789" },
    ]);
    try {
      const checks = createNatsChecks({ NATS_URL: server.url, NATS_MONITOR_URL: server.monitorUrl });
      const forgotten = await connect({
        servers: server.url,
        user: "akira",
        pass: PASSWORD,
        name: "forgotten-reporter",
      });
      const moved = await connect({
        servers: server.url,
        user: "akira-next",
        pass: "NextPassword0123456789",
        name: "cdr-worker",
      });
      const listed = await checks.clientsOn(["akira"]);
      expect(listed).toMatchObject({
        ok: true,
        clients: [{ name: "forgotten-reporter", authorized_user: "akira", lang: "nats.js" }],
      });
      // Only with auth=true does /connz say who each client is.
      const plain = (await (await fetch(`${server.monitorUrl}/connz`)).json()) as { connections: object[] };
      expect(plain.connections.every((c) => !("authorized_user" in c))).toBe(true);
      expect(await checks.loginRefused(["akira"], PASSWORD)).toEqual({
        ok: false,
        message: `NATS at ${server.url} still accepts the old password as akira: its config still lists the old user. Render the config without it and reload, then Retry`,
      });

      const closed = forgotten.closed();
      server.writeConfig([{ user: "akira-next", password: "NextPassword0123456789" }]);
      process.kill(server.pid, "SIGHUP");
      // Removing a user at a reload closes its connections, with the error its client sees.
      expect(String(await closed)).toMatch(/Authorization Violation/i);
      expect(moved.isClosed()).toBe(false);
      expect(await checks.clientsOn(["akira"])).toEqual({ ok: true, clients: [] });
      expect(await checks.loginRefused(["akira"], PASSWORD)).toEqual({
        ok: true,
        note: "NATS refuses the old password as akira (Authorization Violation)",
      });
      await moved.close();
    } finally {
      server.stop();
    }
  });
});
