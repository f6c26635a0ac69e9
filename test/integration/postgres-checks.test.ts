import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresChecks } from "../../src/services/postgres.js";
import { startPostgres } from "../../src/sandbox/services/start-postgres.js";
import { makePrivateCa, type PrivateCa } from "../support/private-ca.js";

const OLD = "OldAppPassword0123456789ab";
const NEW = "NewAppPassword0123456789cd";
let cluster: Awaited<ReturnType<typeof startPostgres>>;

beforeAll(async () => {
  cluster = await startPostgres();
  await cluster.admin(`CREATE ROLE akira_app LOGIN PASSWORD '${OLD}'`);
  await cluster.admin("CREATE DATABASE akira OWNER akira_app");
}, 60_000);
afterAll(() => cluster?.stop());

/** A session of akira_app, as an app (or someone holding the password) keeps one open. */
async function openSession(password: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port: cluster.port,
    user: "akira_app",
    password,
    database: "akira",
  });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

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

  it("compromise order: ends the sessions opened with the old password, then proves the old password refused and none left", async () => {
    const checks = createPostgresChecks({ PGHOST: "127.0.0.1", PGPORT: String(cluster.port) });
    const target = { role: "akira_app", database: "akira" };
    const A = "LeakedAppPassword0123456789";
    const B = "FreshAppPassword0123456789x";
    await cluster.admin(`ALTER ROLE akira_app PASSWORD '${A}'`);
    const intruder = await openSession(A);
    // A password change alone leaves the intruder's session working: PostgreSQL checks passwords at login only.
    expect(await checks.setPassword(target, A, B)).toMatchObject({ ok: true });
    await expect(intruder.query("select 1")).resolves.toBeDefined();
    const changedAt = new Date().toISOString();
    const refused = await checks.oldPasswordRefused(target, A, B, changedAt);
    expect(refused).toMatchObject({ ok: false });
    expect(!refused.ok && refused.message).toMatch(
      /^PostgreSQL refuses the old password, but 1 session\(s\) opened with the old password are still connected: .*pg_terminate_backend.*then Retry$/,
    );
    // Run again with endOldSessions (a resumed rotation finds the password changed): the session is ended.
    expect(await checks.setPassword(target, A, B, undefined, true)).toMatchObject({ ok: true });
    await expect(intruder.query("select 1")).rejects.toThrow(/terminat|connection error/i);
    await intruder.end().catch(() => undefined);
    await expect
      .poll(async () => (await checks.oldPasswordRefused(target, A, B, changedAt)).ok, { timeout: 5_000 })
      .toBe(true);
    expect(await checks.oldPasswordRefused(target, A, B, changedAt)).toEqual({
      ok: true,
      note: "PostgreSQL refuses the old password of akira_app (28P01) and no session from before the change is left",
    });
    // The first run of the step: the change and the end of the old sessions in one go, counted.
    const again = await openSession(B);
    expect(await checks.setPassword(target, B, A, undefined, true)).toEqual({
      ok: true,
      note: "akira_app now accepts only the new password (sent as a SCRAM verifier); 1 session(s) opened with the old password ended",
    });
    await again.end().catch(() => undefined);
    // While the old password still logs in, the check says so and what to do.
    expect(await checks.oldPasswordRefused(target, A, B, new Date().toISOString())).toEqual({
      ok: false,
      message: "akira_app still logs in with the old password: set the new one (ALTER ROLE), then Retry",
    });
    await cluster.admin(`ALTER ROLE akira_app PASSWORD '${NEW}'`);
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

// Issue 21, point 5: TLS as libpq does it. A server that takes logins over TLS only (hostssl),
// with a certificate from a private CA made here with openssl.
describe("PostgreSQL TLS, with libpq's PGSSLMODE", () => {
  let tlsCluster: Awaited<ReturnType<typeof startPostgres>>;
  let ca: PrivateCa;
  beforeAll(async () => {
    ca = makePrivateCa();
    tlsCluster = await startPostgres({ tls: ca.issue(), hostsslOnly: true });
    await tlsCluster.admin(`CREATE ROLE akira_app LOGIN PASSWORD '${OLD}'`);
    await tlsCluster.admin("CREATE DATABASE akira OWNER akira_app");
  }, 60_000);
  afterAll(() => tlsCluster?.stop());
  const target = { role: "akira_app", database: "akira" };
  const at = (env: Record<string, string>) =>
    createPostgresChecks({ PGHOST: "127.0.0.1", PGPORT: String(tlsCluster.port), ...env });

  it("logs in over TLS with prefer (libpq's default, also when PGSSLMODE is unset) to a hostssl-only server", async () => {
    expect(await at({}).login(target, OLD)).toEqual({ ok: true, note: "logged in as akira_app over TLS" });
    expect(await at({ PGSSLMODE: "prefer" }).login(target, OLD)).toEqual({
      ok: true,
      note: "logged in as akira_app over TLS",
    });
    // The server does refuse what is not TLS: that is what prefer meant as "no TLS" met.
    expect(await at({ PGSSLMODE: "disable" }).login(target, OLD)).toMatchObject({
      ok: false,
      message: expect.stringContaining(
        'no pg_hba.conf entry for host "127.0.0.1", user "akira_app", database "akira", no encryption',
      ) as string,
    });
    // allow tries without TLS first, then with it, as libpq does.
    expect(await at({ PGSSLMODE: "allow" }).login(target, OLD)).toMatchObject({
      ok: true,
      note: expect.stringContaining("over TLS") as string,
    });
  });

  it("verifies the server's certificate against PGSSLROOTCERT with verify-ca and verify-full, and refuses another CA's", async () => {
    expect(await at({ PGSSLMODE: "verify-full", PGSSLROOTCERT: ca.caFile }).login(target, OLD)).toMatchObject({
      ok: true,
    });
    expect(await at({ PGSSLMODE: "verify-ca", PGSSLROOTCERT: ca.caFile }).login(target, OLD)).toMatchObject({
      ok: true,
    });
    expect(await at({ PGSSLMODE: "require" }).login(target, OLD)).toMatchObject({ ok: true });
    const other = makePrivateCa("Another CA");
    for (const mode of ["verify-full", "verify-ca", "require", "prefer"]) {
      // With a CA configured, require and prefer verify too (libpq), and a failed check never falls back to cleartext.
      expect(await at({ PGSSLMODE: mode, PGSSLROOTCERT: other.caFile }).login(target, OLD), mode).toMatchObject({
        ok: false,
        message: expect.stringMatching(/cannot log in as akira_app on akira: .*(certificate|self.signed)/i) as string,
      });
    }
    // verify-full also checks the name: the certificate names 127.0.0.1 and localhost, not 127.0.0.2's alias.
    const named = makePrivateCa("Named CA");
    const onlyDns = await startPostgres({ tls: named.issue({ dns: ["db1.akira.internal"] }), hostsslOnly: true });
    try {
      await onlyDns.admin(`CREATE ROLE akira_app LOGIN PASSWORD '${OLD}'`);
      const env = { PGHOST: "127.0.0.1", PGPORT: String(onlyDns.port), PGSSLROOTCERT: named.caFile };
      expect(
        await createPostgresChecks({ ...env, PGSSLMODE: "verify-full" }).login(
          { ...target, database: "postgres" },
          OLD,
        ),
      ).toMatchObject({
        ok: false,
        message: expect.stringMatching(/altnames|IP: 127\.0\.0\.1 is not in the cert's list/i) as string,
      });
      expect(
        await createPostgresChecks({ ...env, PGSSLMODE: "verify-ca" }).login({ ...target, database: "postgres" }, OLD),
      ).toMatchObject({ ok: true });
    } finally {
      onlyDns.stop();
    }
  });

  it("falls back to no TLS with prefer when the server has none, and says so", async () => {
    await cluster.admin(`CREATE ROLE plain_probe LOGIN PASSWORD '${OLD}'`);
    const probe = { role: "plain_probe", database: "postgres" };
    const checks = createPostgresChecks({ PGHOST: "127.0.0.1", PGPORT: String(cluster.port) });
    expect(await checks.login(probe, OLD)).toEqual({ ok: true, note: "logged in as plain_probe without TLS" });
    expect(
      await createPostgresChecks({ PGHOST: "127.0.0.1", PGPORT: String(cluster.port), PGSSLMODE: "require" }).login(
        probe,
        OLD,
      ),
    ).toMatchObject({
      ok: false,
      message: expect.stringContaining("does not support SSL") as string,
    });
  });
});
