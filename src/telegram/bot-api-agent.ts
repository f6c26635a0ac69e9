import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";

/** An idle connection to the Bot API is closed by rotabot after this long, before the server can close it. */
const IDLE_MS = 2_000;

/**
 * The HTTP agent of every Bot API call: connections kept alive for a burst (a card, the progress
 * message moved down, an audit line), then dropped after two idle seconds. grammY's own agent
 * keeps an idle connection until the server closes it (Node's agent only shortens its idle time
 * from the server's `Keep-Alive: timeout=` hint when an agent timeout is set), and a call that
 * takes the connection just as the server closes it fails with "socket hang up" (Node's HTTP
 * docs, `request.reusedSocket`). rotabot never retries such a network error (a message might have
 * arrived), so the call is lost: on a loaded machine, a card or an incident notice. The timeout
 * applies to idle connections only: a long poll in progress is not cut (Node's agent destroys a
 * socket on timeout only while it is free).
 */
export function createBotApiAgent(apiRoot: string): HttpAgent | HttpsAgent {
  const options = { keepAlive: true, timeout: IDLE_MS };
  return apiRoot.startsWith("https:") ? new HttpsAgent(options) : new HttpAgent(options);
}
