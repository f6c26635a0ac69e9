import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { MAIN_JS, PROJECT_ROOT, rotabotNode } from "../support/paths.js";
import { runRotabot, testEnv } from "../support/run-rotabot.js";

const env = testEnv({});
const RECORDER = path.join(PROJECT_ROOT, "test/support/fixtures/record-imports.mjs");
const HEAVY = /node_modules\/(grammy|@grammyjs\/[^/]+|pg|pg-[^/]+|@nats-io\/[^/]+|busboy)\/|\/src\/sandbox\//;

/** What `rotabot age` needs of the runbook is its policies: neither the step kinds, the checks nor the whole schema. */
const RUNBOOK_WHOLE = /\/src\/(rotation|checks)\/|\/src\/runbook\/(runbook-schema|load-runbook)\.js/;

/** The packages and sandbox modules (or what `heavy` matches) a `rotabot <args>` process loads, as module URLs. */
async function heavyModulesLoadedBy(args: string[], heavy = HEAVY): Promise<string[]> {
  const record = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-imports-")), "imports.txt");
  writeFileSync(record, "");
  await new Promise((resolve, reject) => {
    const child = spawn(rotabotNode(), ["--import", RECORDER, MAIN_JS, ...args], {
      env: { ...env, RECORD_IMPORTS_FILE: record },
      stdio: "ignore",
    });
    child.on("error", reject);
    child.on("close", resolve);
  });
  const urls = readFileSync(record, "utf8").split("\n");
  return [...new Set(urls.filter((url) => heavy.test(url)).map((url) => heavy.exec(url)![0]))];
}

/** A manifest of `count` entries in the documented block format. */
function bigManifest(count: number): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-manifest-")), "manifest.yml");
  const entries = Array.from(
    { length: count },
    (_, i) =>
      `  vault_svc${i}_api_token:\n    category: api_token\n    owner: "@team-${i % 7}"\n    last_rotation: 2026-0${1 + (i % 9)}-1${i % 10}\n    rotate_every: 6 months\n`,
  );
  writeFileSync(file, `secrets_manifest:\n${entries.join("")}`);
  return file;
}

describe("rotabot stays light and its output complete", () => {
  it("loads neither grammY, pg, the NATS client nor the sandbox for --version, --help and age", async () => {
    const manifest = bigManifest(3);
    expect(await heavyModulesLoadedBy(["--version"])).toEqual([]);
    expect(await heavyModulesLoadedBy(["--help"])).toEqual([]);
    expect(await heavyModulesLoadedBy(["age", "--manifest", manifest, "--json"])).toEqual([]);
    // The recorder does see them where they are needed: `start` (refused here for want of settings) loads grammY.
    expect(await heavyModulesLoadedBy(["start"])).toContain("node_modules/grammy/");
  });

  it("age reads the runbook's policies alone: no step kind, check or runbook schema is loaded", async () => {
    const manifest = bigManifest(3);
    expect(await heavyModulesLoadedBy(["age", "--manifest", manifest, "--json"], RUNBOOK_WHOLE)).toEqual([]);
    // The recorder sees them where the whole runbook is needed: `doctor` loads it.
    expect(await heavyModulesLoadedBy(["doctor", "--infra", path.dirname(manifest)], RUNBOOK_WHOLE)).not.toEqual([]);
  });

  it("still prints every command's options in --help", async () => {
    const { code, stdout } = await runRotabot(["--help"], env);
    expect(code).toBe(0);
    for (const usage of [
      "rotabot age [",
      "rotabot rotate <",
      "rotabot audit verify",
      "rotabot doctor [",
      "rotabot sandbox [",
    ])
      expect(stdout).toContain(usage);
  });

  it("writes all of `age --json` on 10,000 entries into a pipe whose reader is slow", { timeout: 60_000 }, async () => {
    const manifest = bigManifest(10_000);
    const args = [MAIN_JS, "age", "--manifest", manifest, "--as-of", "2026-11-25", "--json"];
    // The reference: the same command with its output in a file, which is written synchronously.
    const referenceFile = path.join(path.dirname(manifest), "reference.json");
    const fd = openSync(referenceFile, "w");
    await new Promise((resolve) =>
      spawn(rotabotNode(), args, { env, stdio: ["ignore", fd, "ignore"] }).on("close", resolve),
    );
    closeSync(fd);
    const reference = readFileSync(referenceFile);
    expect(reference.length).toBeGreaterThan(1_000_000);

    const child = spawn(rotabotNode(), args, { env, stdio: ["ignore", "pipe", "ignore"] });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    child.stdout.pause();
    // The reader is busy: its buffer fills up, then the pipe, and rotabot has to wait to write the rest.
    await expect
      .poll(() => child.stdout.readableLength >= child.stdout.readableHighWaterMark, { timeout: 20_000 })
      .toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of child.stdout) {
      chunks.push(chunk as Buffer);
      if (chunks.length % 8 === 0) await sleep(20); // and stays slow: a pace, not an order of events
    }
    expect(await exited).toBe(1); // some entries are overdue
    const received = Buffer.concat(chunks);
    expect(received.length).toBe(reference.length);
    expect(received.equals(reference)).toBe(true);
  });
});
