import { defineConfig } from "vitest/config";
import type { TestProjectInlineConfiguration } from "vitest/config";
import { LongestFirst } from "./test/support/longest-first.js";

/** Projects that start processes: each marked, and swept when a test file, its worker or the run ends. */
const processes = {
  globalSetup: ["test/support/process-run.ts"],
  setupFiles: ["test/support/mark-processes.ts"],
};

/**
 * Node.js 24, the LTS line the install role deploys (scripts/install-node24.sh prints it; `npm
 * test` sets this). With it, the process tests run twice in the one run, the second time with
 * rotabot on Node.js 24 (project "e2e@node24": test/support/paths.ts's rotabotNode()); without it
 * (`npx vitest run <file>`), once, on the machine's Node.js.
 */
const node24 = process.env.ROTABOT_TEST_NODE24;

/**
 * The process tests whose subject changes with the Node.js that runs rotabot, run again with it on
 * Node.js 24: start, long polling and HTTP (bot-process, chat-resilience's network errors and
 * retries), signals, stops and restarts (chat-restart, chat-shutdown), crashes and the child
 * processes left behind (crash-rotate, rotate-shell), the terminal and pipes (shell-front-end,
 * cli-lightness, age-command, preflight-command), files and modes (state-dir), and the shipped
 * runbook through the bot on the real box (staging-box, on 24 alone when there is a 24).
 *
 * Not again: what the bot says and decides (the chat dialogs, chat-operate, chat-abort,
 * chat-telegram-reality, compromise-shell, rotate-day, doctor-command: grammY's and rotabot's own
 * logic over the same process paths as above), the install role (it installs Node.js 24 as the
 * ops host's node itself), the Quick start (sandbox-*, on the Node.js the Quick start runs on), and
 * the box's other long files (staging-production-box, compromise-box, preflight: the procedures
 * and the estate, through the process paths staging-box runs on 24).
 */
const ON_NODE24_TOO = [
  "bot-process",
  "chat-resilience",
  "chat-restart",
  "chat-shutdown",
  "crash-rotate",
  "rotate-shell",
  "shell-front-end",
  "cli-lightness",
  "age-command",
  "preflight-command",
  "state-dir",
  "staging-box",
].map((name) => `test/e2e/${name}.test.ts`);
/** The shipped runbook against real PostgreSQL and NATS through the bot, as in production: on 24 alone when there is a 24. */
const ONCE_ON_NODE24 = ["test/e2e/staging-box.test.ts"];

const e2e = (
  name: string,
  files: { include: string[]; exclude: string[] },
  env: Record<string, string> = {},
): TestProjectInlineConfiguration => ({
  extends: true,
  test: {
    name,
    ...files,
    env,
    ...processes,
    // The real rotabot process (dist/src/main.js): dist/ is built first (incrementally: the second project's is a check).
    globalSetup: [...processes.globalSetup, "test/support/global-setup.ts"],
  },
});

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Most tests wait on real processes (ansible, PostgreSQL, the bot), not the CPU.
    maxWorkers: 3,
    // The longest files first, so that the last to start are short ones (test/support/longest-first.ts).
    sequence: { sequencer: LongestFirst },
    projects: [
      // Pure logic: no build, no processes; a file runs in a few seconds from a cold start.
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      // Real ansible-vault, PostgreSQL, nats-server and fixture executables, in-process: no build either.
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], ...processes } },
      e2e("e2e", { include: ["test/e2e/**/*.test.ts"], exclude: node24 ? ONCE_ON_NODE24 : [] }),
      ...(node24 ? [e2e("e2e@node24", { include: ON_NODE24_TOO, exclude: [] }, { ROTABOT_NODE: node24 })] : []),
    ],
  },
});
