import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Most tests wait on real processes (ansible, PostgreSQL, the bot), not the CPU.
    maxWorkers: 3,
  },
});
