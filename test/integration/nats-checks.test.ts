import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsChecks } from "../../src/services/nats.js";
import { startNats } from "../support/start-nats.js";

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
