import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findFailureCause, readFailureCause } from "../../../src/exec/find-failure-cause.js";

// Verbatim output of ansible-playbook (ansible-core 2.14.18) on this machine, with `localhost ansible_connection=local`.
const URI_REFUSED =
  '\nPLAY [localhost] ***************************************************************\n\nTASK [check the old token is refused] ******************************************\nfatal: [localhost]: FAILED! => {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "changed": false, "elapsed": 0, "msg": "Status code was -1 and not [401]: Request failed: <urlopen error [Errno 111] Connection refused>", "redirected": false, "status": -1, "url": "http://127.0.0.1:9/nothing"}\n\nPLAY RECAP *********************************************************************\nlocalhost                  : ok=0    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0   \n\n';
const COMMAND_FAILED =
  '\nPLAY [localhost] ***************************************************************\n\nTASK [run a failing command] ***************************************************\nfatal: [localhost]: FAILED! => {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "changed": true, "cmd": ["sh", "-c", "echo boom >&2; exit 3"], "delta": "0:00:00.119946", "end": "2026-12-07 14:23:07.149487", "msg": "non-zero return code", "rc": 3, "start": "2026-12-07 14:23:07.029541", "stderr": "boom", "stderr_lines": ["boom"], "stdout": "", "stdout_lines": []}\n\nPLAY RECAP *********************************************************************\nlocalhost                  : ok=0    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0   \n\n';

describe("the cause of a failed step, from its log", () => {
  it("reduces ansible's fatal: line to its msg and status, without the recap", () => {
    expect(findFailureCause(URI_REFUSED)).toEqual([
      "fatal: [localhost]: Status code was -1 and not [401]: Request failed: <urlopen error [Errno 111] Connection refused>",
    ]);
  });

  it("names a failed command's return code and the end of its stderr", () => {
    expect(findFailureCause(COMMAND_FAILED)).toEqual(["fatal: [localhost]: non-zero return code; stderr: boom; rc 3"]);
  });

  it("keeps an HTTP status and ansible's ERROR!, and falls back to the last lines when nothing stands out", () => {
    expect(
      findFailureCause(
        [
          "ERROR! the playbook: deploy_signaling.yml could not be found",
          "curl: (22) The requested URL returned error: 401",
          "HTTP/1.1 401 Unauthorized",
        ].join("\n"),
      ),
    ).toEqual([
      "ERROR! the playbook: deploy_signaling.yml could not be found",
      "curl: (22) The requested URL returned error: 401",
      "HTTP/1.1 401 Unauthorized",
    ]);
    expect(findFailureCause("starting\nstep 2\nstep 3\nit stopped\n")).toEqual(["step 2", "step 3", "it stopped"]);
    expect(findFailureCause("")).toEqual([]);
  });

  it("quotes at most three lines of 300 characters, and masks what the redactor knows", () => {
    const lines = Array.from({ length: 6 }, (_, i) => `error ${i}: ${"x".repeat(400)}`);
    const cause = findFailureCause(lines.join("\n"));
    expect(cause).toHaveLength(3);
    expect(cause[0]).toMatch(/^error 3: x+…$/);
    expect(cause[0]).toHaveLength(300);
    expect(
      findFailureCause("msg: login failed for hunter2hunter2", (t) => t.replaceAll("hunter2hunter2", "[redacted]")),
    ).toEqual(["msg: login failed for [redacted]"]);
  });

  it("reads only the end of a long log file, and nothing from a missing one", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cause-"));
    const file = path.join(dir, "step.log");
    writeFileSync(file, `${"noise line\n".repeat(100_000)}${URI_REFUSED}`);
    expect(await readFailureCause(file)).toEqual(findFailureCause(URI_REFUSED));
    expect(await readFailureCause(path.join(dir, "missing.log"))).toEqual([]);
    expect(await readFailureCause(undefined)).toEqual([]);
  });
});
