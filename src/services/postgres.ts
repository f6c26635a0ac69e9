import type pg from "pg";
import { mayTryNext, sslAttempts, type SslAttempt } from "./pg-ssl-attempts.js";
import { scramSha256Verifier } from "./scram-verifier.js";

export interface PostgresTarget {
  host?: string | undefined;
  port?: number | undefined;
  database: string;
  role: string;
}

type Outcome = { ok: true; note: string } | { ok: false; message: string };

/** Host and port: the runbook's, else libpq's usual PGHOST/PGPORT, else localhost:5432; TLS as libpq's PGSSLMODE. */
async function clientFor(
  target: PostgresTarget,
  password: string,
  env: Readonly<Record<string, string | undefined>>,
  ssl: SslAttempt,
) {
  const { default: pg } = await import("pg");
  return new pg.Client({
    host: target.host ?? env.PGHOST ?? "localhost",
    port: target.port ?? (env.PGPORT ? Number(env.PGPORT) : 5432),
    ssl,
    database: target.database,
    user: target.role,
    password,
    connectionTimeoutMillis: 10_000,
    application_name: "rotabot",
  });
}

/** Connects as libpq would for PGSSLMODE (see sslAttempts), runs `use`, and says whether TLS carried it. */
async function withClient<T>(
  target: PostgresTarget,
  password: string,
  env: Readonly<Record<string, string | undefined>>,
  use: (client: pg.Client) => Promise<T>,
): Promise<T & { tls?: boolean }> {
  const attempts = sslAttempts(env);
  for (const [i, ssl] of attempts.entries()) {
    const client = await clientFor(target, password, env, ssl);
    client.on("error", () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      if (i < attempts.length - 1 && mayTryNext(error)) continue;
      throw error;
    }
    try {
      const result = await use(client);
      return Object.assign(result ?? {}, { tls: ssl !== false }) as T & { tls?: boolean };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error("no way to connect for this PGSSLMODE");
}

const over = (tls: boolean | undefined) => (tls ? "over TLS" : "without TLS");

/** A message about a failed connection that cannot contain the password (pg never puts it in errors). */
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

type Env = Readonly<Record<string, string | undefined>>;

/** Ends every other session of the role (a role may end its own sessions); how many there were. */
async function endSessions(client: pg.Client, role: string): Promise<number> {
  const result = await client.query<{ n: string }>(
    "select count(*) filter (where pg_terminate_backend(pid)) as n from pg_stat_activity where usename = $1 and pid <> pg_backend_pid() and backend_start < statement_timestamp()",
    [role],
  );
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * PostgreSQL as rotabot reaches it from the ops host: host and port from the runbook's target, else
 * the environment's PGHOST/PGPORT (the rotation's environment first, then the process's), else
 * localhost:5432. TLS follows libpq's PGSSLMODE and PGSSLROOTCERT.
 */
export function createPostgresChecks(baseEnv: Env) {
  const envOf = (overlay: Env | undefined): Env => ({ ...baseEnv, ...overlay });
  return {
    /**
     * Sets the role's password from a SCRAM verifier, logged in as the role itself with the current
     * password. `endOldSessions`: then ends every other session of the role, all opened before the
     * change, so nobody keeps what the old password gave (PostgreSQL checks a password at login only).
     */
    async setPassword(
      target: PostgresTarget,
      current: string,
      next: string,
      overlay?: Env,
      endOldSessions = false,
    ): Promise<Outcome> {
      const env = envOf(overlay);
      const attempt = async (password: string) =>
        withClient(target, password, env, async (client) => {
          await client.query(`ALTER ROLE "${target.role}" PASSWORD '${scramSha256Verifier(next)}'`);
          return endOldSessions ? { ended: await endSessions(client, target.role) } : {};
        });
      try {
        const { ended } = await attempt(current);
        const sessions = ended === undefined ? "" : `; ${ended} session(s) opened with the old password ended`;
        return {
          ok: true,
          note: `${target.role} now accepts only the new password (sent as a SCRAM verifier)${sessions}`,
        };
      } catch (first) {
        try {
          // A resumed rotation may find the password already changed: then the new one logs in.
          await withClient(target, next, env, async (client) => {
            if (endOldSessions) await endSessions(client, target.role);
            else await client.query("select 1");
            return {};
          });
          return { ok: true, note: `${target.role} already accepts the new password` };
        } catch {
          return {
            ok: false,
            message: `could not change the password of ${target.role}: ${describe(first)}. Check that the database is reachable and the current vault value is right, then Retry`,
          };
        }
      }
    },

    async login(target: PostgresTarget, password: string, overlay?: Env): Promise<Outcome> {
      const env = envOf(overlay);
      try {
        const { tls } = await withClient(target, password, env, async (client) => {
          await client.query("select 1");
          return {};
        });
        return { ok: true, note: `logged in as ${target.role} ${over(tls)}` };
      } catch (error) {
        return { ok: false, message: `cannot log in as ${target.role} on ${target.database}: ${describe(error)}` };
      }
    },

    /**
     * A login with the old password is refused (SQLSTATE 28P01, "password authentication failed"),
     * and, logged in with the new one, no session of the role opened before the change is left.
     */
    async oldPasswordRefused(
      target: PostgresTarget,
      old: string,
      next: string,
      changedAt: string,
      overlay?: Env,
    ): Promise<Outcome> {
      const env = envOf(overlay);
      try {
        await withClient(target, old, env, async (client) => client.query("select 1"));
        return {
          ok: false,
          message: `${target.role} still logs in with the old password: set the new one (ALTER ROLE), then Retry`,
        };
      } catch (error) {
        if ((error as { code?: string }).code !== "28P01")
          return {
            ok: false,
            message: `cannot tell whether ${target.role} refuses the old password: ${describe(error)}. Check that the database is reachable, then Retry`,
          };
      }
      const sessions = await this.oldSessionsGone(target, next, changedAt, overlay);
      return sessions.ok
        ? {
            ok: true,
            note: `PostgreSQL refuses the old password of ${target.role} (28P01) and no session from before the change is left`,
          }
        : {
            ok: false,
            message: `PostgreSQL refuses the old password, but ${sessions.message}: they keep what the old password gave. End them (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${target.role}'), then Retry`,
          };
    },

    /** Counts sessions of the role that started before the password change. */
    async oldSessionsGone(
      target: PostgresTarget,
      password: string,
      changedAt: string,
      overlay?: Env,
    ): Promise<Outcome> {
      const env = envOf(overlay);
      try {
        const { count } = await withClient(target, password, env, async (client) => {
          const result = await client.query<{ n: string }>(
            "select count(*) as n from pg_stat_activity where usename = $1 and backend_start < $2 and pid <> pg_backend_pid()",
            [target.role, changedAt],
          );
          return { count: Number(result.rows[0]?.n ?? 0) };
        });
        return count === 0
          ? { ok: true, note: "no sessions from before the change remain" }
          : { ok: false, message: `${count} session(s) opened with the old password are still connected` };
      } catch (error) {
        return { ok: false, message: `cannot count sessions of ${target.role}: ${describe(error)}` };
      }
    },
  };
}
export type PostgresChecks = ReturnType<typeof createPostgresChecks>;
