import { execFileSync } from "node:child_process";
import path from "node:path";

/** Process-level tests run the compiled bot, exactly as production does: build it once first. */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "../..");
  execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
