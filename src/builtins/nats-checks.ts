import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

type Outcome = { ok: true; note: string } | { ok: false; message: string };

export interface NatsTarget {
  server?: string | undefined;
  user?: string | undefined;
  stream: string;
  consumer: string;
}

/** What `nats stream info` and `nats consumer info` show, through nats.js (there is no nats CLI here). */
export function createNatsChecks(env: Readonly<Record<string, string | undefined>>) {
  return {
    async streamHealth(target: NatsTarget, password: string): Promise<Outcome> {
      const servers = target.server ?? env.NATS_URL ?? "nats://127.0.0.1:4222";
      let nc;
      try {
        nc = await connect({ servers, user: target.user ?? env.NATS_USER ?? "akira", pass: password, timeout: 10_000, reconnect: false });
      } catch (error) {
        return { ok: false, message: `cannot connect to NATS at ${servers} as ${target.user ?? "akira"} with the vault credential: ${error instanceof Error ? error.message : "error"}` };
      }
      try {
        const jsm = await jetstreamManager(nc);
        const stream = await jsm.streams.info(target.stream);
        const consumer = await jsm.consumers.info(target.stream, target.consumer);
        return { ok: true, note: `stream ${target.stream}: ${stream.state.messages} messages; consumer ${target.consumer}: ${consumer.num_pending} pending, ${consumer.num_ack_pending} awaiting ack` };
      } catch (error) {
        return { ok: false, message: `stream ${target.stream} or consumer ${target.consumer} is not healthy: ${error instanceof Error ? error.message : "error"}` };
      } finally {
        await nc.close().catch(() => undefined);
      }
    },

    /** The server's config_load_time from its monitoring endpoint, to confirm that a reload happened. */
    async configLoadTime(monitorUrl: string): Promise<string | undefined> {
      try {
        const response = await fetch(`${monitorUrl.replace(/\/+$/, "")}/varz`, { signal: AbortSignal.timeout(5_000) });
        const varz = (await response.json()) as { config_load_time?: string };
        return varz.config_load_time;
      } catch {
        return undefined;
      }
    },
  };
}
export type NatsChecks = ReturnType<typeof createNatsChecks>;
