import { defineConfig } from "vitest/config";

/** Projects that start processes: each marked, and swept when a test file, its worker or the run ends. */
const processes = {
  globalSetup: ["test/support/process-run.ts"],
  setupFiles: ["test/support/mark-processes.ts"],
};

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Most tests wait on real processes (ansible, PostgreSQL, the bot), not the CPU.
    maxWorkers: 3,
    projects: [
      // Pure logic: no build, no processes; a file runs in a few seconds from a cold start.
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      // Real ansible-vault, PostgreSQL, nats-server and fixture executables, in-process: no build either.
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], ...processes } },
      // The real rotabot process (dist/src/main.js): its global setup builds dist/ first.
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          ...processes,
          globalSetup: [...processes.globalSetup, "test/support/global-setup.ts"],
        },
      },
    ],
  },
});
