import { execFileSync } from "node:child_process";
import path from "node:path";

/** Process-level tests run the compiled bot, exactly as production does: build it once first. */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "../..");
  execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  // As `npm run build` does: `rotabot --version` names the commit the tests run.
  execFileSync(process.execPath, [path.join(root, "scripts/write-build-info.mjs")], { cwd: root, stdio: "inherit" });
}
