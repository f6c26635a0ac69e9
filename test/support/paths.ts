import path from "node:path";

export const PROJECT_ROOT = path.resolve(import.meta.dirname, "../..");
export const MAIN_JS = path.join(PROJECT_ROOT, "dist/src/main.js");
export const SHIPPED_RUNBOOK = path.join(PROJECT_ROOT, "deploy/runbook.yml");
export const EXAMPLE_INFRA = path.join(PROJECT_ROOT, "deploy/example-infra");
