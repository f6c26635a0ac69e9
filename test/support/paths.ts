import path from "node:path";

export const PROJECT_ROOT = path.resolve(import.meta.dirname, "../..");
export const MAIN_JS = path.join(PROJECT_ROOT, "dist/src/main.js");
export const SHIPPED_RUNBOOK = path.join(PROJECT_ROOT, "deploy/runbook.yml");
export const EXAMPLE_INFRA = path.join(PROJECT_ROOT, "deploy/example-infra");

/**
 * The node that runs rotabot in process tests: Node.js 24 in the project "e2e@node24" of `npm test`
 * (vitest.config.ts sets ROTABOT_NODE there), else the one running the tests.
 */
export const rotabotNode = (): string => process.env.ROTABOT_NODE ?? process.execPath;
