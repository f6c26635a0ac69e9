import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresChecks } from "../../src/services/postgres.js";
import { startPostgres } from "../../src/sandbox/services/start-postgres.js";

const OLD = "OldAppPassword0123456789ab";
const NEW = "NewAppPassword0123456789cd";
let cluster: Awaited<ReturnType<typeof startPostgres>>;

beforeAll(async () => {
  cluster = await startPostgres();
  await cluster.admin(`CREATE ROLE akira_app LOGIN PASSWORD '${OLD}'`);
  await cluster.admin("CREATE DATABASE akira OWNER akira_app");
}, 60_000);
afterAll(() => cluster?.stop());

describe("PostgreSQL built-ins against a real server", () => {
  it("changes the role password with a SCRAM verifier: new logs in, old is refused, no plaintext in the server log", async () => {
    const checks = createPostgresChecks({ PGHOST: "127.0.0.1", PGPORT: String(cluster.port) });
    const target = { role: "akira_app", database: "akira" };
    const oldSession = new pg.Client({
      host: "127.0.0.1",
      port: cluster.port,
      user: "akira_app",
      password: OLD,
      database: "akira",
    });
    await oldSession.connect();
    const before = new Date(Date.now() + 1000).toISOString();

    expect(await checks.setPassword(target, OLD, NEW)).toMatchObject({ ok: true });
    expect(await checks.login(target, NEW)).toMatchObject({ ok: true });
    expect(await checks.login(target, OLD)).toMatchObject({
      ok: false,
      message: expect.stringContaining("password authentication failed") as string,
    });
    // Re-running after a crash finds the password already changed.
    expect(await checks.setPassword(target, OLD, NEW)).toEqual({
      ok: true,
      note: "akira_app already accepts the new password",
    });

    expect(await checks.oldSessionsGone(target, NEW, before)).toEqual({
      ok: false,
      message: "1 session(s) opened with the old password are still connected",
    });
    await oldSession.end();
    await expect
      .poll(async () => (await checks.oldSessionsGone(target, NEW, before)).ok, { timeout: 5_000 })
      .toBe(true);

    const log = cluster.serverLog();
    expect(log).toContain('ALTER ROLE "akira_app" PASSWORD \'SCRAM-SHA-256$4096:');
    expect(log).not.toContain(NEW);
  });

  it("says what to do when the current password is wrong and the new one does not work either", async () => {
    const checks = createPostgresChecks({ PGHOST: "127.0.0.1", PGPORT: String(cluster.port) });
    const result = await checks.setPassword(
      { role: "akira_app", database: "akira" },
      "wrong-password-1234567",
      "another-new-password-123",
    );
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /could not change the password of akira_app: .*Check that the database is reachable and the current vault value is right, then Retry/,
      ) as string,
    });
  });
});
