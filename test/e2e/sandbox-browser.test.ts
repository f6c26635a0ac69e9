import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { MAIN_JS, PROJECT_ROOT } from "../support/paths.js";
import { withRunMark } from "../support/sweep-processes.js";

const CHROMIUM = "/usr/bin/chromium";

/** A GET with the Host header a browser would send for another name (fetch does not let us set it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
const OPS = -1_001_000_000_001;
const ALICE = 101;
const SCREENSHOT = path.join(PROJECT_ROOT, "test-results", "sandbox-rotations.png");

let sandbox: ChildProcess | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  // Ctrl-C, as a person would: the sandbox stops what it started. Whatever a sandbox that does not
  // answer leaves is swept after this file (test/support/mark-processes.ts), so a timeout leaves nothing.
  if (sandbox?.exitCode === null) {
    const exited = new Promise((resolve) => sandbox!.once("exit", resolve));
    sandbox.kill("SIGINT");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
  }
}, 60_000);

describe("rotabot sandbox in a browser", { timeout: 480_000 }, () => {
  it("rotates the NATS password and the Telegram token (BotFather panel, private chat) by clicking, then Ctrl-C removes everything", async () => {
    sandbox = spawn(process.execPath, [MAIN_JS, "sandbox", "--port", "0"], {
      env: withRunMark({ PATH: process.env.PATH!, HOME: mkdtempSync(path.join(tmpdir(), "sandbox-home-")) }),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let printed = "";
    sandbox.stdout!.on("data", (d: Buffer) => (printed += d.toString()));
    sandbox.stderr!.on("data", (d: Buffer) => (printed += d.toString()));
    const exited = new Promise<number | null>((resolve) => sandbox!.once("exit", resolve));
    await expect
      .poll(() => printed, { timeout: 120_000, interval: 200 })
      .toMatch(/rotabot sandbox is up: open (http:\/\/127\.0\.0\.1:\d+)/);
    const url = /open (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1]!;
    const infraDir = /Infra checkout: (\S+)/.exec(printed)![1]!;
    const root = /removes (\S+)\.\n/.exec(printed)![1]!;

    // A page on another name that resolves to 127.0.0.1 (DNS rebinding) gets nothing.
    const port = new URL(url).port;
    expect(await getWithHost(`${url}/api/state`, `rebind.example:${port}`)).toEqual({
      status: 421,
      body: expect.not.stringContaining("tokens") as unknown,
    });
    expect(await getWithHost(`${url}/api/state`, `localhost:${port}`)).toMatchObject({ status: 200 });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(url);
    const ops = page.locator(`section[data-chat="${OPS}"]`);
    await ops.locator("input").fill("/age");
    await ops.locator("input").press("Enter");
    await expect.poll(() => ops.innerText(), { timeout: 15_000 }).toContain("Secret ages");

    await ops.locator("input").fill("/rotate nats");
    await ops.locator("input").press("Enter");
    await ops.locator('button[data-callback$="|start"]').last().click({ timeout: 15_000 });
    await clickThrough(1);

    // Telegram: one token per bot. rotabot first checks the service and has the outage confirmed;
    // only then, at the card that asks for it, does the operator revoke in BotFather (which kills
    // the old token at once) and press "I revoked it"; then rotabot asks for the new token.
    await ops.locator("input").fill("/rotate telegram");
    await ops.locator("input").press("Enter");
    await ops.locator('button[data-callback$="|start"]').last().click({ timeout: 15_000 });
    const dm = page.locator(`section[data-chat="${ALICE}"]`);
    const asked = dm.locator('button[data-callback^="rt|"][data-callback$="|y"]');
    const issued = /revoked: it now answers 401\. New token:\n(\d+:\S+)/;
    let token = "";
    await expect
      .poll(
        async () => {
          const go = ops.locator('button[data-callback^="rt|"][data-callback$="|g"]');
          const revoked = ops.locator('button[data-callback^="rt|"][data-callback$="|d"]');
          if ((await asked.count()) > 0 || token) return asked.count();
          if ((await revoked.count()) > 0) {
            expect(await revoked.last().innerText()).toBe("I revoked it");
            await page.getByRole("button", { name: /^\/revoke: new token/ }).click();
            await expect.poll(() => page.locator("#notes").innerText(), { timeout: 10_000 }).toMatch(issued);
            token = issued.exec(await page.locator("#notes").innerText())![1]!;
            await revoked.last().click();
          } else if ((await go.count()) > 0) await go.last().click();
          return asked.count();
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBeGreaterThan(0);
    expect(await ops.innerText()).toContain("the notification bot is down");
    await expect
      .poll(() => page.locator('[data-list="botfather"]').innerText())
      .toBe(`current token …${token.slice(-4)}`);
    await dm.locator("input").fill(token);
    await dm.locator("input").press("Enter");
    await expect
      .poll(() => dm.innerText(), { timeout: 15_000 })
      .toContain(`Stored in the vault as vault_telegram_bot_token_new (ends in …${token.slice(-4)})`);
    expect(await dm.innerText()).not.toContain(token);
    await clickThrough(2, () => {
      throw new Error(
        "the Telegram rotation has no manual step after the revoke: the old token is checked, not revoked again",
      );
    });
    expect(execFileSync("git", ["-C", infraDir, "log", "-1", "--format=%s"]).toString().trim()).toBe(
      "Rotate vault_telegram_bot_token",
    );
    // The token typed into the page reached the vault only: not the bot's log, not git history.
    const botLog = readFileSync(/rotabot log:\s+(\S+)/.exec(printed)![1]!, "utf8");
    expect(botLog).toContain("rotabot started");
    expect(botLog).not.toContain(token);
    expect(execFileSync("git", ["-C", infraDir, "log", "-p", "--all"]).toString()).not.toContain(token);

    /** Presses Confirm (and Done, after `beforeDone`) until the ops chat shows `completions` completed rotations. */
    async function clickThrough(completions: number, beforeDone?: () => Promise<void>) {
      const complete = ops.locator(".msg", { hasText: "Rotation complete" });
      const go = ops.locator('button[data-callback^="rt|"][data-callback$="|g"]');
      const done = ops.locator('button[data-callback^="rt|"][data-callback$="|d"]');
      for (;;) {
        // The next thing to do: a Done, a Confirm, or nothing more (the rotation completed).
        let next: "complete" | "done" | "go" | undefined;
        const nextOf = async () =>
          (await complete.count()) >= completions
            ? "complete"
            : (await done.count()) > 0
              ? "done"
              : (await go.count()) > 0
                ? "go"
                : undefined;
        await expect
          .poll(async () => (next = await nextOf()), { timeout: 180_000 })
          .toBeDefined()
          .catch(async () => {
            throw new Error(`the rotation did not complete:\n${await ops.innerText()}`);
          });
        if (next === "complete") return;
        if (next === "done") await beforeDone?.();
        const button = (next === "done" ? done : go).last();
        const data = (await button.getAttribute("data-callback"))!;
        await button.click();
        // The card takes the answer: the button pressed goes (its callback data is unique to that prompt).
        await ops.locator(`button[data-callback="${data}"]`).waitFor({ state: "detached", timeout: 60_000 });
      }
    }
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(await page.locator(`section[data-chat="${-1_001_000_000_002}"]`).innerText()).toContain("🏁 completed");
    expect(execFileSync("git", ["-C", infraDir, "log", "--format=%s"]).toString()).toContain(
      "Rotate vault_nats_password",
    );

    sandbox.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(printed).toContain(`rotabot sandbox stopped; ${root} removed.`);
    expect(existsSync(root)).toBe(false);
  });
});
