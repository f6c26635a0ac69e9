import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { journalOf, press, promptOf, startRotation } from "../support/chat-driver.js";
import { startChatWorld, type ChatWorld } from "../support/chat-world.js";

let world: ChatWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

/**
 * An ansible-vault that takes its time writing once `flag` exists, and says when it is at it:
 * a SIGTERM can then land during the encrypt, as it would during a slow write on the ops host.
 */
function slowVault(): { bin: string; flag: string; reached: string } {
  const bin = mkdtempSync(path.join(tmpdir(), "rotabot-slow-vault-"));
  const flag = path.join(bin, "slow");
  const reached = path.join(bin, "reached");
  writeFileSync(
    path.join(bin, "ansible-vault"),
    `#!/bin/sh
if [ "$1" = encrypt ] && [ -e "${flag}" ]; then touch "${reached}"; sleep 3; fi
exec /usr/bin/ansible-vault "$@"
`,
  );
  chmodSync(path.join(bin, "ansible-vault"), 0o755);
  return { bin, flag, reached };
}

const exists = (file: string) => readdirSync(path.dirname(file)).includes(path.basename(file));
/** The process exits on its own: a stop that hangs fails here (a bound, not a timing goal). */
const exitsWithin = (w: ChatWorld, ms: number) =>
  Promise.race([w.bot().exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), ms))]);

describe("stopping when told (SIGTERM), whatever rotabot is doing", { timeout: 120_000 }, () => {
  it("while the Bot API does not answer: names TELEGRAM_API_ROOT and its URL, retries with backoff, and SIGTERM ends the wait", async () => {
    // Nothing listens on this port: every getMe is refused at once.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const refused = (world = await startChatWorld({ TELEGRAM_API_ROOT: `http://127.0.0.1:${closed}` }));
    await refused.startBot({ ready: false });
    await expect
      .poll(() => refused.output(), { timeout: 20_000 })
      .toContain(
        `cannot reach the Telegram Bot API at TELEGRAM_API_ROOT=http://127.0.0.1:${closed} (ECONNREFUSED); trying again in 2 s, and SIGTERM stops rotabot at once`,
      );
    refused.bot().child.kill("SIGTERM");
    expect(await exitsWithin(refused, 10_000)).toBe(0);
    await refused.stop();

    // A Bot API that takes the connection and never answers: a stop must not wait for it.
    const silent = createServer(() => undefined);
    const connected = new Promise<void>((resolve) => silent.once("connection", () => resolve()));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const hanging = (world = await startChatWorld({
        TELEGRAM_API_ROOT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      }));
      await hanging.startBot({ ready: false });
      await connected;
      hanging.bot().child.kill("SIGTERM");
      expect(await exitsWithin(hanging, 10_000)).toBe(0);
      expect(hanging.output()).toContain("stopped before the Telegram Bot API at TELEGRAM_API_ROOT=");
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("during an ansible-vault write: the write finishes, nothing is left half-done, the rotation resumes", async () => {
    const vault = slowVault();
    const w = (world = await startChatWorld({ PATH: `${vault.bin}:${process.env.PATH ?? "/usr/bin:/bin"}` }));
    await w.startBot();
    writeFileSync(vault.flag, "");
    const id = await startRotation(w, "/rotate api-token");
    await expect.poll(() => exists(vault.reached), { timeout: 30_000 }).toBe(true);
    w.bot().child.kill("SIGTERM");
    // Not killed by the signal (execa's exit handler used to re-raise it): a clean exit, code 0.
    expect(await exitsWithin(w, 40_000)).toBe(0);
    const varsDir = path.join(w.infra.infraDir, "infra/group_vars/all");
    expect(readdirSync(varsDir).filter((f) => f.includes(".tmp") || f.includes("rotabot-"))).toEqual([]);
    expect(w.infra.vaultPlain()).toMatch(/vault_billing_api_token_new: "[^"]+"/);
    expect(journalOf(w, id).state).toBe("interrupted");
    expect(w.auditText()).toContain(`[${id}] ⚠️ interrupted`);
  });

  it("during an abort's rollback: waits out the grace, stops the rollback, and journals an abort to finish", async () => {
    const w = (world = await startChatWorld({ SHUTDOWN_GRACE: "1s" }));
    await w.startBot();
    const id = await startRotation(w, "/rotate api-token");
    const confirm = await promptOf(w, id, /cannot be undone/i);
    // The rollback's first command that changes a service hangs until the test lets it go.
    w.infra.touch("pause-back_to_old");
    press(w, confirm, "c");
    await expect.poll(() => w.infra.exists("paused-back_to_old"), { timeout: 30_000 }).toBe(true);
    w.bot().child.kill("SIGTERM");
    expect(await exitsWithin(w, 40_000)).toBe(0);
    const journal = journalOf(w, id) as ReturnType<typeof journalOf> & { aborting?: unknown; message?: string };
    expect(journal.state).toBe("interrupted");
    expect(journal.aborting).toBeUndefined();
    expect(journal.message).toBe("rotabot stopped while aborting; abort again to finish the rollback");
    expect(w.auditText()).toContain(`[${id}] ⚠️ interrupted`);
    expect(w.output()).toContain("stopping: letting running steps and rollbacks finish");
  });

  it("with Telegram unreachable: says so within seconds, and still stops at once", async () => {
    const w = (world = await startChatWorld());
    await w.startBot();
    await w.tg.close();
    await expect
      .poll(() => w.output(), { timeout: 30_000 })
      .toMatch(/cannot reach the Telegram Bot API at TELEGRAM_API_ROOT .*retrying every 5 s/);
    expect(w.output()).toMatch(/"level":50[^\n]*cannot reach the Telegram Bot API/);
    w.bot().child.kill("SIGTERM");
    expect(await exitsWithin(w, 30_000)).toBe(0);
  });

  it("with a full audit queue: stops without waiting out the chat's send budget; every line is in the audit log", async () => {
    const w = (world = await startChatWorld({ CHAT_MAX_PER_MINUTE: "2" }));
    await w.startBot();
    const id = await startRotation(w, "/rotate api-token");
    await expect.poll(() => journalOf(w, id).steps.some((s) => s.state === "done"), { timeout: 30_000 }).toBe(true);
    w.bot().child.kill("SIGTERM");
    expect(await exitsWithin(w, 40_000)).toBe(0);
    expect(w.output()).toContain("stopping before every audit line reached the audit chat");
    const logged = readFileSync(path.join(w.infra.stateDir, "audit.jsonl"), "utf8").trim().split("\n");
    // The chat's budget let two messages through; the log holds every line, including the ones still queued.
    expect(logged.length).toBeGreaterThan(2);
    expect(logged.join("\n")).toContain(`"type":"rotation_started"`);
    expect(logged.filter((line) => line.includes(`"id":"${id}"`)).length).toBeGreaterThan(2);
  });
});
