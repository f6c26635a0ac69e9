import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkTasksRan } from "../../../src/ansible/play-recap.js";
import { PROJECT_ROOT } from "../../support/paths.js";

const STAND_IN = path.join(PROJECT_ROOT, "bench/stand-ins/ansible-playbook");

// The bench's stand-in ansible-playbook must read, to rotabot, as a run of the real one did.
describe("the bench's stand-in ansible-playbook", () => {
  it("ends a run with a PLAY RECAP that says a task ran, as the real program's does", () => {
    const output = execFileSync(STAND_IN, ["-i", "inventory.yml", "site.yml"], {
      env: { ...process.env, BENCH_PLAYBOOK_SECONDS: "0" },
      encoding: "utf8",
    });
    expect(checkTasksRan(output)).toMatchObject({ ok: true, note: "localhost: ok=1 changed=1" });
  });
});
