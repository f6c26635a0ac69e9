import { execFileSync } from "node:child_process";
import path from "node:path";

/**
 * Global setup of the e2e project: process-level tests run the compiled bot, exactly as
 * production does, so dist/ is built first. Incrementally (dist/.tsbuildinfo): the second e2e project
 * of the run, or a rerun of one file with the sources unchanged, checks and writes only what changed.
 */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "../..");
  execFileSync(
    path.join(root, "node_modules/.bin/tsc"),
    ["-p", "tsconfig.build.json", "--incremental", "--tsBuildInfoFile", "dist/.tsbuildinfo"],
    { cwd: root, stdio: "inherit" },
  );
  // As `npm run build` does: `rotabot --version` names the commit the tests run.
  execFileSync(process.execPath, [path.join(root, "scripts/write-build-info.mjs")], { cwd: root, stdio: "inherit" });
}
