import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";

type Env = Readonly<Record<string, string | undefined>>;

/** One way to connect: without TLS (`false`), or with these TLS options (node-postgres's `ssl`). */
export type SslAttempt = false | ConnectionOptions;

/**
 * How libpq connects for PGSSLMODE (PostgreSQL 15 docs, 34.19 "SSL Support", Table 34.1), as a list
 * of attempts for node-postgres, which knows no modes itself (`ssl: true` refuses a server without
 * TLS; `false` never tries TLS):
 * - `disable`: no TLS. `allow`: no TLS first, TLS when the server refuses that. `prefer` (libpq's
 *   default, also when PGSSLMODE is unset): TLS first, no TLS when the server has no TLS or refuses
 *   a TLS connection; a certificate that does not verify is never a reason to drop TLS.
 * - `require`: TLS only. `verify-ca`: TLS, the server's certificate signed by the CA.
 *   `verify-full`: the same, and the certificate names the host.
 * The CA is PGSSLROOTCERT (`system`: the system's CAs). As libpq does, with a CA configured
 * `prefer` and `require` verify the certificate against it too (not the host name). PGSSLCERT and
 * PGSSLKEY give a client certificate. Reads the files each time it is called (a renewed CA is seen).
 */
export function sslAttempts(env: Env): SslAttempt[] {
  const mode = env.PGSSLMODE ?? "prefer";
  if (mode === "disable") return [false];
  const root = env.PGSSLROOTCERT;
  const client = {
    ...(env.PGSSLCERT ? { cert: readFileSync(env.PGSSLCERT, "utf8") } : {}),
    ...(env.PGSSLKEY ? { key: readFileSync(env.PGSSLKEY, "utf8") } : {}),
  };
  const ca = root && root !== "system" ? { ca: readFileSync(root, "utf8") } : {};
  const noHostCheck = { checkServerIdentity: () => undefined };
  const verifyFull: ConnectionOptions = { rejectUnauthorized: true, ...ca, ...client };
  const verifyCa: ConnectionOptions = { ...verifyFull, ...noHostCheck };
  const tls: ConnectionOptions = root ? verifyCa : { rejectUnauthorized: false, ...client };
  switch (mode) {
    case "allow":
      return [false, tls];
    case "require":
      return [tls];
    case "verify-ca":
      return [verifyCa];
    case "verify-full":
      return [verifyFull];
    default:
      return [tls, false];
  }
}

/**
 * Whether the next attempt may follow a failed one, as libpq moves on: the server has no TLS
 * (node-postgres: "The server does not support SSL connections"), or its pg_hba.conf has no line
 * for this kind of connection (SQLSTATE 28000, "no pg_hba.conf entry ... SSL encryption" or "no
 * encryption"). A wrong password (28P01), an unreachable host or a certificate that does not
 * verify ends the attempts: trying without TLS would only hand the login to whoever is in between.
 */
export function mayTryNext(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return code === "28000" || /does not support SSL connections/i.test(message ?? "");
}
