import { randomBytes } from "node:crypto";
import { listenLocal, readBody } from "./listen-local.js";

export const SENTRY_PROJECT_ID = 4507;

/** The public key of a DSN (`https://<public key>@host/<project>`), or the key itself. */
const publicKeyOf = (dsnOrKey: string) => /\/\/([0-9a-f]+)(?::[0-9a-f]+)?@/.exec(dsnOrKey)?.[1] ?? dsnOrKey;

/**
 * Stand-in for a Sentry ingest endpoint with one project. Behaves like Sentry, each behaviour
 * pinned by test/integration/sandbox/stand-ins.test.ts:
 *
 * - A project has one or more client keys (DSNs); a new key does not disable the others: every
 *   key takes events until it is disabled or deleted. Source: Sentry's project model ("Each project
 *   has one or more Client Keys, each of which carries a DSN", getsentry/sentry
 *   src/sentry/models/projectkey.py) and the client-keys API (`isActive: false` "stops the key
 *   from accepting events").
 * - The store and envelope endpoints (`POST /api/<project>/store/`, `/envelope/`) take the key from
 *   `X-Sentry-Auth: Sentry sentry_key=<key>` or `?sentry_key=`. Source: Sentry's SDK developer docs
 *   (authentication header).
 * - An event with a disabled or unknown key, or for another project, is refused with 403
 *   `{"detail":"event submission rejected with_reason: ProjectId"}`. Source: the response format of
 *   Sentry's Relay (getsentry/relay, BadStoreRequest::EventRejected; its tests assert 403 with this
 *   detail text).
 */
export async function startSentryIngest() {
  const keys = new Map<string, { active: boolean }>();
  const events: { key: "current" | "refused"; message: string }[] = [];
  const server = await listenLocal(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://sentry");
    const match = /^\/api\/(\d+)\/(store|envelope)\/$/.exec(url.pathname);
    if (req.method !== "POST" || !match) {
      res.writeHead(404).end();
      return;
    }
    const auth = req.headers["x-sentry-auth"];
    const key =
      /sentry_key=([0-9a-f]+)/.exec(Array.isArray(auth) ? auth.join(",") : (auth ?? ""))?.[1] ??
      url.searchParams.get("sentry_key");
    const body = await readBody(req);
    if (Number(match[1]) !== SENTRY_PROJECT_ID || !key || keys.get(key)?.active !== true) {
      events.push({ key: "refused", message: "" });
      res
        .writeHead(403, { "Content-Type": "application/json" })
        .end(JSON.stringify({ detail: "event submission rejected with_reason: ProjectId" }));
      return;
    }
    let message = "";
    try {
      const parsed = (JSON.parse(body) as { message?: unknown }).message;
      message = typeof parsed === "string" ? parsed : "";
    } catch {
      message = "(envelope)";
    }
    events.push({ key: "current", message });
    res
      .writeHead(200, { "Content-Type": "application/json" })
      .end(JSON.stringify({ id: randomBytes(16).toString("hex") }));
  });
  const host = server.url.replace(/^http:\/\//, "");
  return {
    url: server.url,
    events,
    /** "Project Settings, Client Keys, Generate New Key": a new active key; the others stay active. */
    createDsn(): string {
      const key = randomBytes(16).toString("hex");
      keys.set(key, { active: true });
      return `http://${key}@${host}/${SENTRY_PROJECT_ID}`;
    },
    /** "Disable" on a client key (a DSN or its public key): its events are refused from now on. */
    disableKey(dsnOrKey: string): boolean {
      const key = publicKeyOf(dsnOrKey);
      if (!keys.has(key)) return false;
      keys.set(key, { active: false });
      return true;
    },
    /** Public keys that still take events. */
    activeKeys: () => [...keys].filter(([, k]) => k.active).map(([key]) => key),
    close: () => server.close(),
  };
}
export type SentryIngest = Awaited<ReturnType<typeof startSentryIngest>>;
