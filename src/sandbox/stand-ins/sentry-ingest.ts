import { randomBytes } from "node:crypto";
import { listenLocal, readBody } from "./listen-local.js";

export const SENTRY_PROJECT_ID = 4507;

/**
 * Stand-in for a Sentry ingest endpoint with one project: the store and envelope APIs accept
 * an event only with the public key of the project's current DSN. Creating a new client key
 * makes it the current DSN; events with an older key are refused (403), as after a DSN rotation.
 */
export async function startSentryIngest() {
  let currentKey = "";
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
    if (Number(match[1]) !== SENTRY_PROJECT_ID || !key || key !== currentKey) {
      events.push({ key: "refused", message: "" });
      res
        .writeHead(403, { "Content-Type": "application/json" })
        .end(JSON.stringify({ detail: "event submission rejected with_reason: ProjectId or key is not valid" }));
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
    /** "Project Settings, Client Keys, Generate New Key": the new DSN becomes the current one. */
    createDsn(): string {
      currentKey = randomBytes(16).toString("hex");
      return `http://${currentKey}@${host}/${SENTRY_PROJECT_ID}`;
    },
    close: () => server.close(),
  };
}
export type SentryIngest = Awaited<ReturnType<typeof startSentryIngest>>;
