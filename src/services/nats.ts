import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

type Outcome = { ok: true; note: string } | { ok: false; message: string };

export interface NatsTarget {
  server?: string | undefined;
  user?: string | undefined;
  stream: string;
  consumer: string;
}

/**
 * The username a password logs in with. NATS refuses one username twice, so a rolling window
 * needs a second one; `{password_sha256_8}` in the runbook's `user` stands for the first 8 hex
 * digits of the password's SHA-256, giving each password its own username (the sandbox's
 * playbooks do the same), with no state to keep about which user is current.
 */
export function natsUserFor(template: string, password: string): string {
  return template.replaceAll("{password_sha256_8}", createHash("sha256").update(password).digest("hex").slice(0, 8));
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * GETs JSON from the NATS monitoring endpoint as a client that trusts what rotabot's NATS client
 * trusts: over https, the CA of NATS_CA when set (a private CA, as the runbook's production example
 * has), else the system's; the certificate must verify and name the host. Node's global fetch
 * cannot be given a CA, which made every reload over https with a private CA look failed.
 */
export function getMonitorJson<T>(url: string, env: Env, timeoutMs = 5_000): Promise<T> {
  const secure = url.startsWith("https:");
  const ca = secure && env.NATS_CA ? { ca: readFileSync(env.NATS_CA, "utf8") } : {};
  return new Promise<T>((resolve, reject) => {
    const request = (secure ? https : http).get(url, { ...ca, timeout: timeoutMs }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => {
        if (response.statusCode !== 200) return reject(new Error(`${url} answered HTTP ${response.statusCode}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch {
          reject(new Error(`${url} did not answer JSON`));
        }
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`${url} did not answer within ${timeoutMs / 1000} s`)));
    request.on("error", reject);
  });
}

/** Where the monitoring endpoint is: the environment's NATS_MONITOR_URL, else the process's, else localhost. */
export const monitorUrlOf = (env: Env): string => (env.NATS_MONITOR_URL ?? "http://127.0.0.1:8222").replace(/\/+$/, "");

/**
 * NATS as rotabot reaches it from the ops host: the runbook's server, else NATS_URL (the rotation's
 * environment first, then the process's); `tls://` URLs are verified against NATS_CA when set.
 */
export function createNatsChecks(baseEnv: Env) {
  return {
    async streamHealth(target: NatsTarget, password: string, overlay?: Env): Promise<Outcome> {
      const env: Env = { ...baseEnv, ...overlay };
      const [{ connect }, { jetstreamManager }] = await Promise.all([
        import("@nats-io/transport-node"),
        import("@nats-io/jetstream"),
      ]);
      const servers = target.server ?? env.NATS_URL ?? "nats://127.0.0.1:4222";
      const user = natsUserFor(target.user ?? env.NATS_USER ?? "akira", password);
      let nc;
      try {
        const tls = env.NATS_CA ? { tls: { caFile: env.NATS_CA } } : {};
        nc = await connect({ servers, user, pass: password, timeout: 10_000, reconnect: false, ...tls });
      } catch (error) {
        return {
          ok: false,
          message: `cannot connect to NATS at ${servers} as ${user} with the vault credential: ${error instanceof Error ? error.message : "error"}`,
        };
      }
      try {
        const jsm = await jetstreamManager(nc);
        const stream = await jsm.streams.info(target.stream);
        const consumer = await jsm.consumers.info(target.stream, target.consumer);
        return {
          ok: true,
          note: `stream ${target.stream}: ${stream.state.messages} messages; consumer ${target.consumer}: ${consumer.num_pending} pending, ${consumer.num_ack_pending} awaiting ack`,
        };
      } catch (error) {
        return {
          ok: false,
          message: `stream ${target.stream} or consumer ${target.consumer} is not healthy: ${error instanceof Error ? error.message : "error"}`,
        };
      } finally {
        await nc.close().catch(() => undefined);
      }
    },

    /**
     * The client connections logged in as one of `users`, from the monitoring endpoint's
     * `/connz?auth=true` (only with `auth=true` does nats-server 2.9 name each connection's
     * `authorized_user`), page by page. A message when the endpoint does not answer.
     */
    async clientsOn(
      users: readonly string[],
      overlay?: Env,
    ): Promise<{ ok: true; clients: NatsClient[] } | { ok: false; message: string }> {
      const env: Env = { ...baseEnv, ...overlay };
      const monitor = monitorUrlOf(env);
      const clients: NatsClient[] = [];
      try {
        for (let offset = 0; ;) {
          const page = await getMonitorJson<{ total: number; connections: NatsClient[] | null }>(
            `${monitor}/connz?auth=true&limit=1024&offset=${offset}`,
            env,
          );
          const connections = page.connections ?? [];
          clients.push(...connections.filter((c) => c.authorized_user && users.includes(c.authorized_user)));
          offset += connections.length;
          if (connections.length === 0 || offset >= page.total) break;
        }
      } catch (error) {
        return {
          ok: false,
          message: `cannot list NATS's connections on ${monitor}/connz: ${error instanceof Error ? error.message : "error"}; check NATS_MONITOR_URL (and NATS_CA for https with a private CA)`,
        };
      }
      return { ok: true, clients };
    },

    /**
     * Whether NATS refuses each of `users` with `password`: a login must end in "Authorization
     * Violation" (what nats-server 2.9.10 answers a user it does not have). A login that works, or
     * an answer that is not a refusal (the server is down), is said as it is.
     */
    async loginRefused(
      users: readonly string[],
      password: string,
      overlay?: Env,
    ): Promise<{ ok: true; note: string } | { ok: false; message: string }> {
      const env: Env = { ...baseEnv, ...overlay };
      const { connect } = await import("@nats-io/transport-node");
      const servers = env.NATS_URL ?? "nats://127.0.0.1:4222";
      const tls = env.NATS_CA ? { tls: { caFile: env.NATS_CA } } : {};
      const accepted: string[] = [];
      for (const user of users) {
        try {
          const nc = await connect({ servers, user, pass: password, timeout: 10_000, reconnect: false, ...tls });
          accepted.push(user);
          await nc.close().catch(() => undefined);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (!/authorization violation/i.test(message))
            return {
              ok: false,
              message: `cannot tell whether NATS at ${servers} refuses the old user ${user}: ${message}`,
            };
        }
      }
      return accepted.length === 0
        ? { ok: true, note: `NATS refuses the old password as ${users.join(" and ")} (Authorization Violation)` }
        : {
            ok: false,
            message: `NATS at ${servers} still accepts the old password as ${accepted.join(" and ")}: its config still lists the old user. Render the config without it and reload, then Retry`,
          };
    },

    /**
     * The server's config_load_time from its monitoring endpoint (/varz, over https with NATS_CA),
     * to confirm that a reload happened; undefined when the endpoint does not answer.
     */
    async configLoadTime(monitorUrl: string, overlay?: Env): Promise<string | undefined> {
      try {
        const varz = await getMonitorJson<{ config_load_time?: string }>(`${monitorUrl.replace(/\/+$/, "")}/varz`, {
          ...baseEnv,
          ...overlay,
        });
        return varz.config_load_time;
      } catch {
        return undefined;
      }
    },
  };
}
export type NatsChecks = ReturnType<typeof createNatsChecks>;

/** A client connection as `/connz?auth=true` shows it (nats-server 2.9.10). */
export interface NatsClient {
  cid: number;
  name?: string;
  ip: string;
  port: number;
  lang?: string;
  version?: string;
  start: string;
  authorized_user?: string;
}

/** How a client reads in a message: "cdr-worker (127.0.0.1:56544, nats.js 3.4.0, connected since ...)". */
export function describeClient(c: NatsClient): string {
  return `${c.name ? `${c.name} ` : "a client without a name "}(${c.ip}:${c.port}${c.lang ? `, ${c.lang} ${c.version ?? ""}`.trimEnd() : ""}, connected since ${c.start})`;
}
