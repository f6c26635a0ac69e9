import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { findLeaks } from "./leak-forms.js";
import { MAIN_JS, PROJECT_ROOT, rotabotNode } from "./paths.js";
import { withRunMark } from "./sweep-processes.js";
import { decryptVault, makeVaultFile } from "./vault-fixture.js";

export const OLD_BILLING = "old-billing-token-0123456789abcdef";
export const OLD_REPORTS = "old-reports-token-0123456789abcdef";

const FIXTURE_STEP = `#!/bin/sh
# Records each call; a careless tool that prints the values it was given. A fail-<step> file makes
# the step fail, printing what the file holds first (a test puts a real tool's failure there).
step="$1"
echo "$step" >> calls.log
echo "running $step for \${2:-?}"
[ -n "\${NEW_VALUE:-}" ] && echo "new=$NEW_VALUE old=$OLD_VALUE"
if [ -e "pause-$step" ]; then echo $$ > "paused-$step"; while [ -e "pause-$step" ]; do sleep 0.1; done; fi
if [ -e "fail-$step" ]; then cat "fail-$step" >&2; echo "step $step failed on purpose" >&2; exit 1; fi
exit 0
`;

/** A throwaway Akira infra checkout (git) with a real encrypted vault and fixture commands. */
export function makeRotationInfra(extraSecrets: Readonly<Record<string, string>> = {}) {
  const infraDir = mkdtempSync(path.join(tmpdir(), "rotabot-infra-"));
  const varsDir = path.join(infraDir, "infra/group_vars/all");
  mkdirSync(varsDir, { recursive: true });
  const extra = Object.entries(extraSecrets)
    .map(([key, value]) => `${key}: "${value}"\n`)
    .join("");
  const vaultPlain = `# Akira vault\nvault_billing_api_token: "${OLD_BILLING}"\nvault_reports_api_token: "${OLD_REPORTS}"\n${extra}`;
  const files = makeVaultFile(vaultPlain, varsDir);
  const passwordFile = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-pass-")), "vault-pass.txt");
  writeFileSync(passwordFile, readFileSync(files.passwordFile), { mode: 0o600 });
  execFileSync("rm", [files.passwordFile, "-rf", files.backupDir]);
  writeFileSync(
    path.join(varsDir, "_secrets_manifest.yml"),
    `secrets_manifest:
  # billing
  vault_billing_api_token:
    category: api_token
    owner: "@billing-team"
    last_rotation: 2025-01-01
    custom: kept
  vault_reports_api_token:
    category: api_token
    owner: "@reports-team"
`,
  );
  writeFileSync(path.join(infraDir, "CHANGELOG.md"), "# Changelog\n\n## [1.0.0]\n\n- first\n");
  mkdirSync(path.join(infraDir, "bin"));
  writeFileSync(path.join(infraDir, "bin/fixture-step.sh"), FIXTURE_STEP, { mode: 0o755 });
  writeFileSync(path.join(infraDir, ".gitignore"), "calls.log\npause-*\npaused-*\nfail-*\n.deploy-in-progress\n");
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: infraDir, env: { PATH: process.env.PATH, HOME: infraDir } }).toString();
  git("init", "-q", "-b", "main");
  git("-c", "user.name=fixture", "-c", "user.email=f@x", "add", "-A");
  git("-c", "user.name=fixture", "-c", "user.email=f@x", "commit", "-qm", "initial");
  const stateDir = mkdtempSync(path.join(tmpdir(), "rotabot-state-"));
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: infraDir,
    USER: "opsuser",
    INFRA_DIR: infraDir,
    STATE_DIR: stateDir,
    VAULT_PASSWORD_FILE: passwordFile,
    RUNBOOK_FILE: path.join(PROJECT_ROOT, "test/support/fixtures/rotation-runbook.yml"),
  };
  return {
    infraDir,
    stateDir,
    vaultFiles: {
      vaultFile: path.join(varsDir, "vault.yml"),
      passwordFile,
      backupDir: path.join(stateDir, "test-backups"),
    },
    env,
    git,
    vaultPlain: () => decryptVault(path.join(varsDir, "vault.yml"), passwordFile),
    calls: () => readFileSync(path.join(infraDir, "calls.log"), "utf8").trim().split("\n").filter(Boolean),
    touch: (name: string) => writeFileSync(path.join(infraDir, name), ""),
    read: (name: string) => readFileSync(path.join(infraDir, name), "utf8"),
    exists: (name: string) => {
      try {
        statSync(path.join(infraDir, name));
        return true;
      } catch {
        return false;
      }
    },
    /** Lets a paused fixture command go on (after a simulated crash it finishes as an orphan, as a playbook would). */
    releasePaused(step: string) {
      unlinkSync(path.join(infraDir, `pause-${step}`));
    },
  };
}
export type RotationInfra = ReturnType<typeof makeRotationInfra>;

/** A rotabot shell process whose prompts a test answers. */
export function startShell(args: string[], env: Record<string, string>) {
  const child = spawn(rotabotNode(), [MAIN_JS, ...args], {
    env: withRunMark(env),
    cwd: env.INFRA_DIR,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  const waiters: { pattern: RegExp; from: number; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters])
      if (w.pattern.test(stdout.slice(w.from))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    check();
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // The crash tests kill the shell on purpose: an answer typed after that meets a closed pipe
  // (EPIPE), which is moot, not a failure. Anything else is.
  child.stdin.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  let mark = 0;
  return {
    child,
    exited,
    output: () => stdout + stderr,
    /** Waits for text printed after the previous wait. */
    waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
      const from = mark;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${stdout}\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          from,
          resolve: () => {
            clearTimeout(timer);
            mark = stdout.length;
            resolve();
          },
        });
        check();
      });
    },
    answer: (text: string) => child.stdin.write(`${text}\n`),
    endInput: () => child.stdin.end(),
  };
}

/** Every text rotabot left behind or printed, for leak scans. */
export function everythingWritten(infra: RotationInfra, printed: string[]): string {
  // The bot may still be finishing (releasing a lock, sweeping a temp file) while we scan: a file or folder gone
  // between listing and reading holds nothing any more, so it is skipped rather than failing the scan.
  const unlessGone = <T>(read: () => T[]): T[] => {
    try {
      return read();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  };
  const files = (dir: string): string[] =>
    unlessGone(() => readdirSync(dir, { withFileTypes: true })).flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === ".git" ? [] : files(full);
      return [full];
    });
  const texts = [...files(infra.stateDir), ...files(infra.infraDir)].flatMap((f) =>
    unlessGone(() => [readFileSync(f).toString("latin1")]),
  );
  texts.push(infra.git("log", "-p", "--all"), ...printed);
  return texts.join("\n");
}

/**
 * The forms of each value found in the text, as `kind: form`: the scan's own list of encodings
 * (leak-forms.ts), independent of the redactor's, so it also finds a form the redactor misses.
 */
export function leaks(text: string, values: readonly string[]): string[] {
  return findLeaks(text, values);
}
