import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runAuditCommand } from "../../src/cli/audit-command.js";
import type { CrashPoint } from "../../src/fs/crash-points.js";
import {
  makeRotationInfra,
  OLD_BILLING,
  OLD_REPORTS,
  startShell,
  type RotationInfra,
} from "../support/rotation-fixture.js";
import { PROJECT_ROOT } from "../support/paths.js";
import { runRotabot } from "../support/run-rotabot.js";

/**
 * Issue 13's crash test: `rotabot rotate` of an API token on the shell is killed with SIGKILL,
 * alone (as the OOM killer does: its children live on) or with its process group (a host
 * crash), at exact storage windows (ROTABOT_CRASH_AT stops it there) and at random moments;
 * then the rotation is resumed, or aborted when it had not reached its point of no return.
 * Right after the kill each file must be whole (before or after, never partial); after
 * recovery the rotation is done (or undone) with the history kept, one commit, a clean
 * checkout and an audit log that verifies.
 */

const KEY = "vault_billing_api_token";
/** Random choices come from CRASH_SEED (printed in the test names), so a failing run can be repeated. */
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
let prng = seed;
const random = () => {
  prng = (prng + 0x6d2b79f5) | 0;
  let t = Math.imul(prng ^ (prng >>> 15), 1 | prng);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};
const MANIFEST = "infra/group_vars/all/_secrets_manifest.yml";
type KillMode = "alone" | "group";

/** A pre-commit hook that holds `git commit` (and its index.lock) while .git/hold-commit exists. */
const HOLD_HOOK = `#!/bin/sh
[ -e .git/hold-commit ] || exit 0
touch .git/in-commit
while [ -e .git/hold-commit ]; do sleep 0.05; done
`;

function crashInfra() {
  const infra = makeRotationInfra();
  writeFileSync(path.join(infra.infraDir, ".git/hooks/pre-commit"), HOLD_HOOK, { mode: 0o755 });
  const read = (file: string) => readFileSync(path.join(infra.infraDir, file), "utf8");
  return {
    infra,
    read,
    before: { manifest: read(MANIFEST), changelog: read("CHANGELOG.md"), head: infra.git("rev-parse", "HEAD").trim() },
  };
}
type Crash = ReturnType<typeof crashInfra>;

/** The process state letter from /proc (T: stopped), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Answers every prompt a rotation on the shell asks: yes to confirmations, retry (twice at most) to failures. */
function autoAnswer(shell: ReturnType<typeof startShell>) {
  let answered = 0;
  let retries = 0;
  const timer = setInterval(() => {
    const prompts = shell.output().match(/Type yes to go on|\[r\]etry, \[m\]ark done[^?]*\? /g) ?? [];
    for (const prompt of prompts.slice(answered)) {
      answered++;
      if (prompt.startsWith("Type yes")) shell.answer("yes");
      else if (++retries <= 2) shell.answer("r");
      else shell.endInput(); // a step that keeps failing: stop, and let the checks say what is wrong
    }
  }, 50);
  void shell.exited.then(() => clearInterval(timer));
}

/** The rotation's journal, once it has one. */
function journal(infra: RotationInfra) {
  const dir = path.join(infra.stateDir, "rotations");
  const [file] = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".json")) : [];
  return file === undefined
    ? undefined
    : (JSON.parse(readFileSync(path.join(dir, file), "utf8")) as {
        id: string;
        state: string;
        pointOfNoReturn?: unknown;
      });
}

const today = () => new Date().toISOString().slice(0, 10);
const manifestAfter = (c: Crash) => c.before.manifest.replace(`last_rotation: 2025-01-01`, `last_rotation: ${today()}`);
const changelogAfter = (c: Crash, id: string) =>
  `# Changelog\n\n## [Unreleased]\n\n### Security\n- ${today()}: rotated \`${KEY}\` (rotation ${id}, by opsuser)\n\n## [1.0.0]\n\n- first\n`;

/** Right after the kill: every file rotabot changes is whole, either before or after. */
function expectNothingPartial(c: Crash) {
  const plain = c.infra.vaultPlain();
  const billing = /^vault_billing_api_token: "([^"]+)"$/m.exec(plain)?.[1];
  const fresh = /^vault_billing_api_token_new: "([^"]+)"$/m.exec(plain)?.[1];
  expect([OLD_BILLING, fresh].includes(billing) || /^[A-Za-z0-9_-]{40}$/.test(billing ?? "")).toBe(true);
  expect(plain).toContain(`vault_reports_api_token: "${OLD_REPORTS}"`);
  const id = journal(c.infra)?.id;
  expect([c.before.manifest, manifestAfter(c)]).toContain(c.read(MANIFEST));
  expect([c.before.changelog, id && changelogAfter(c, id)]).toContain(c.read("CHANGELOG.md"));
}

/** Every file below `dir` (the infra checkout's .git only for lock files). */
function leftovers(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(d, e.name);
      if (e.isDirectory()) return walk(full);
      return [full];
    });
  return walk(dir).filter((f) =>
    f.includes(`${path.sep}.git${path.sep}`) ? f.endsWith(".lock") : /rotabot-|\.tmp$/.test(path.basename(f)),
  );
}

/** Resumes or aborts what the crash left, then checks the outcome. */
async function recoverAndCheck(c: Crash) {
  const { infra } = c;
  const found = journal(infra);
  let outcome: "after" | "before" = "before";
  if (found && found.state !== "completed") {
    if (found.pointOfNoReturn) {
      const resumed = startShell(["resume", found.id], infra.env);
      autoAnswer(resumed);
      expect(await resumed.exited, resumed.output()).toBe(0);
      outcome = "after";
    } else {
      const aborted = await runRotabot(["abort", found.id], infra.env, infra.infraDir);
      expect(aborted.code, aborted.stderr).toBe(0);
    }
  } else if (found) {
    outcome = "after"; // killed after it completed
  }
  const plain = infra.vaultPlain();
  expect(plain).not.toContain("_new");
  const billing = /^vault_billing_api_token: "([^"]+)"$/m.exec(plain)?.[1];
  const rotations = infra
    .git("log", "--format=%s")
    .split("\n")
    .filter((s) => s === `Rotate ${KEY}`);
  if (outcome === "after") {
    expect(billing).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(c.read(MANIFEST)).toBe(manifestAfter(c));
    expect(c.read("CHANGELOG.md")).toBe(changelogAfter(c, found!.id));
    expect(rotations).toHaveLength(1);
    expect(journal(infra)?.state).toBe("completed");
  } else {
    expect(billing).toBe(OLD_BILLING);
    expect(c.read(MANIFEST)).toBe(c.before.manifest);
    expect(c.read("CHANGELOG.md")).toBe(c.before.changelog);
    expect(infra.git("rev-parse", "HEAD").trim()).toBe(c.before.head);
    if (found) expect(journal(infra)?.state).toBe("aborted");
  }
  expect(infra.git("status", "--porcelain")).toBe("");
  expect(leftovers(infra.infraDir)).toEqual([]);
  const stateTmp = path.join(infra.stateDir, "tmp");
  expect(existsSync(stateTmp) ? readdirSync(stateTmp) : []).toEqual([]);
  // `rotabot audit verify`, run in this process to keep the suite within its CPU budget.
  let stdout = "";
  let stderr = "";
  const code = await runAuditCommand(["verify"], {
    env: infra.env,
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    packageRoot: PROJECT_ROOT,
    version: "test",
    now: () => new Date(),
    stopSignal: new Promise(() => undefined),
  });
  expect([code, stderr]).toEqual([0, ""]);
  expect(stdout).toMatch(/^audit log intact: \d+ entries/);
  return stdout;
}

/** Starts the rotation, waits for `until`, kills it as `mode` says. */
async function rotateAndKill(
  c: Crash,
  mode: KillMode,
  extraEnv: Record<string, string>,
  until: (pid: number) => Promise<void>,
) {
  const shell = startShell(["rotate", KEY, "--yes"], { ...c.infra.env, ...extraEnv });
  autoAnswer(shell);
  const pid = shell.child.pid!;
  await until(pid);
  try {
    process.kill(mode === "group" ? -pid : pid, "SIGKILL");
  } catch {
    // It had already finished (a random moment after the end).
  }
  await shell.exited;
  return shell;
}

const stoppedAt = (point: string) => async (pid: number) => {
  await expect
    .poll(() => processState(pid), { timeout: 120_000, interval: 25, message: `rotabot never reached ${point}` })
    .toBe("T");
};

describe(
  `rotabot rotate killed at the storage windows, then resumed or aborted (CRASH_SEED=${seed})`,
  { timeout: 180_000 },
  () => {
    const windows: [CrashPoint | `${CrashPoint}#${number}`, KillMode][] = [
      ["changelog:before-rename", "group"],
      ["changelog:after-rename", "alone"],
      ["manifest:before-rename", "alone"],
      ["vault:before-rename", "group"], // adding _new: before the point of no return, so aborted
      ["vault:before-rename#2", "alone"], // the promote
      ["vault:after-rename#2", "group"],
      [`audit:before-head#${2 + Math.floor(random() * 8)}`, "alone"],
    ];
    it.concurrent.each(windows)("at %s (killed %s)", async (point, mode) => {
      const c = crashInfra();
      await rotateAndKill(c, mode, { ROTABOT_CRASH_AT: point }, stoppedAt(point));
      expectNothingPartial(c);
      const verified = await recoverAndCheck(c);
      if (point.startsWith("audit:"))
        expect(verified).toMatch(/crash repaired, not an edit: a crash came between entry \d+ and audit\.head/);
    });

    it.concurrent.each<KillMode>(["group", "alone"])("inside git commit (killed %s)", async (mode) => {
      const c = crashInfra();
      const hold = path.join(c.infra.infraDir, ".git/hold-commit");
      writeFileSync(hold, "");
      await rotateAndKill(c, mode, {}, async () => {
        await expect
          .poll(() => existsSync(path.join(c.infra.infraDir, ".git/in-commit")), { timeout: 120_000 })
          .toBe(true);
      });
      expect(existsSync(path.join(c.infra.infraDir, ".git/index.lock"))).toBe(true);
      expectNothingPartial(c);
      // Killed alone, the commit lives on as an orphan and finishes; with the group it died holding index.lock.
      unlinkSync(hold);
      await recoverAndCheck(c);
    });
  },
);

describe(`rotabot rotate killed at random moments (CRASH_SEED=${seed})`, { timeout: 180_000 }, () => {
  const trials = [1, 2, 3].map((n): { n: number; delayMs: number; mode: KillMode } => ({
    n,
    delayMs: Math.floor(300 + random() * 6_000),
    mode: random() < 0.5 ? "alone" : "group",
  }));
  it.concurrent.each(trials)("trial $n: killed $mode after $delayMs ms", async ({ delayMs, mode }) => {
    const c = crashInfra();
    await rotateAndKill(c, mode, {}, () => new Promise((resolve) => setTimeout(resolve, delayMs)));
    expectNothingPartial(c);
    await recoverAndCheck(c);
  });
});

describe("a truncated audit.head (issue 14, item 12)", { timeout: 60_000 }, () => {
  it("crashes nothing: status runs and says the audit log is read-only, audit verify says TAMPERED and what to do", async () => {
    const { infra } = crashInfra();
    writeFileSync(path.join(infra.stateDir, "audit.head"), '{"seq":1,"ha');
    const status = await runRotabot(["status"], infra.env, infra.infraDir);
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(/^rotabot: .*audit\.head.*rotabot audit reseal/s);
    expect(status.stderr).not.toMatch(/SyntaxError|\n\s+at /);
    const verified = await runRotabot(["audit", "verify"], infra.env, infra.infraDir);
    expect(verified.code).toBe(1);
    expect(verified.stderr).toMatch(/^audit log TAMPERED: .*audit\.jsonl line \d+: audit\.head is damaged/);
    expect(verified.stderr).toMatch(/What to do: .*rotabot audit reseal/);
    expect(verified.stderr).not.toMatch(/SyntaxError|\n\s+at /);
  });
});
