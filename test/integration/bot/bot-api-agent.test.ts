import { createServer, request, type Agent, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBotApiAgent } from "../../../src/telegram/bot-api-agent.js";

// A server like Node's default one (the fake Bot API's): keep-alive with `Keep-Alive: timeout=5`.
let server: Server;
let port: number;
let connections = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    const wait = Number(new URL(req.url!, "http://x").searchParams.get("wait") ?? 0);
    setTimeout(() => res.end("ok"), wait);
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function get(agent: Agent, wait = 0): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: `/?wait=${wait}`, agent }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ body, reused: req.reusedSocket }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the Bot API's HTTP agent", () => {
  it("reuses a connection within a burst, drops it once idle (before the server would), and never cuts a long call", async () => {
    const agent = createBotApiAgent(`http://127.0.0.1:${port}`);
    const before = connections;
    expect(await get(agent)).toEqual({ body: "ok", reused: false });
    expect(await get(agent)).toEqual({ body: "ok", reused: true });
    // A call longer than the idle timeout (a long poll) runs to its end on its connection.
    expect(await get(agent, 3_000)).toEqual({ body: "ok", reused: true });
    expect(connections - before).toBe(1);
    // Idle for longer than 2 s, well before the server's 5 s: the next call opens a new connection.
    await sleep(2_600);
    expect(await get(agent)).toEqual({ body: "ok", reused: false });
    expect(connections - before).toBe(2);
    agent.destroy();
  });
});
