import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { MAIN_JS, PROJECT_ROOT } from "../support/paths.js";

const CHROMIUM = "/usr/bin/chromium";
const OPS = -1_001_000_000_001;
const SCREENSHOT = path.join(PROJECT_ROOT, "test-results", "sandbox-rotate-nats.png");

let sandbox: ChildProcess | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  if (sandbox?.exitCode === null) sandbox.kill("SIGKILL");
});

describe("rotabot sandbox in a browser", { timeout: 240_000 }, () => {
  it("rotates the NATS password by clicking through the web chat, then Ctrl-C removes everything", async () => {
    sandbox = spawn(process.execPath, [MAIN_JS, "sandbox", "--port", "0"], { env: { PATH: process.env.PATH, HOME: mkdtempSync(path.join(tmpdir(), "sandbox-home-")) }, stdio: ["ignore", "pipe", "pipe"] });
    let printed = "";
    sandbox.stdout!.on("data", (d: Buffer) => (printed += d.toString()));
    sandbox.stderr!.on("data", (d: Buffer) => (printed += d.toString()));
    const exited = new Promise<number | null>((resolve) => sandbox!.once("exit", resolve));
    await expect.poll(() => printed, { timeout: 120_000, interval: 200 }).toMatch(/rotabot sandbox is up: open (http:\/\/127\.0\.0\.1:\d+)/);
    const url = /open (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1]!;
    const infraDir = /Infra checkout: (\S+)/.exec(printed)![1]!;
    const root = /removes (\S+)\.\n/.exec(printed)![1]!;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(url);
    const ops = page.locator(`section[data-chat="${OPS}"]`);
    await ops.locator("input").fill("/age");
    await ops.locator("input").press("Enter");
    await expect.poll(() => ops.innerText(), { timeout: 15_000 }).toContain("Secret ages");

    await ops.locator("input").fill("/rotate nats");
    await ops.locator("input").press("Enter");
    await ops.locator('button[data-callback$="|start"]').click({ timeout: 15_000 });
    const deadline = Date.now() + 180_000;
    while (!(await ops.innerText()).includes("Rotation complete")) {
      if (Date.now() > deadline) throw new Error(`the rotation did not complete:\n${await ops.innerText()}`);
      const go = ops.locator('button[data-callback^="rt|"][data-callback$="|g"]');
      if ((await go.count()) > 0) {
        await go.last().click();
        await page.waitForTimeout(1_500);
      } else {
        await page.waitForTimeout(500);
      }
    }
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(await page.locator(`section[data-chat="${-1_001_000_000_002}"]`).innerText()).toContain("🏁 completed");
    expect(execFileSync("git", ["-C", infraDir, "log", "-1", "--format=%s"]).toString().trim()).toBe("Rotate vault_nats_password");

    sandbox.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(printed).toContain(`rotabot sandbox stopped; ${root} removed.`);
    expect(existsSync(root)).toBe(false);
  });
});
