import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EXAMPLE_INFRA } from "../support/paths.js";
import { runRotabot, testEnv } from "../support/run-rotabot.js";

const base = testEnv({
  INFRA_DIR: EXAMPLE_INFRA,
  BOT_TOKEN: "123456789:AAEexampleexampleexampleexample12345",
  // Nothing listens here: the state folder must be refused before Telegram is tried.
  TELEGRAM_API_ROOT: "http://127.0.0.1:9",
  OPS_CHAT_ID: "-1001000000001",
  OPERATOR_IDS: "101",
});

describe("an unusable STATE_DIR", () => {
  it("is one line naming the setting and the fix, exit 2, for every command that opens it", async () => {
    const file = path.join(base.HOME!, "state-is-a-file");
    writeFileSync(file, "");
    const expected = `STATE_DIR=${file} cannot be used: it is a file, not a folder; move the file away, or set STATE_DIR to a folder the rotabot user can write (it holds the journals, locks and audit log)\n`;
    for (const argv of [["start"], ["status"], ["abort", "20260101-1200-abcd"], ["audit", "verify"]]) {
      const { code, stdout, stderr } = await runRotabot(argv, { ...base, STATE_DIR: file });
      expect({ argv, code, stdout, stderr }).toEqual({
        argv,
        code: 2,
        stdout: "",
        stderr: `rotabot ${argv[0]}: ${expected}`,
      });
    }
  });

  it("names a folder under it that is a file", async () => {
    const dir = path.join(base.HOME!, "state");
    const { code } = await runRotabot(["status"], { ...base, STATE_DIR: dir });
    expect(code).toBe(0);
    writeFileSync(path.join(dir, "logs"), "");
    const broken = await runRotabot(["status"], { ...base, STATE_DIR: dir });
    expect([broken.code, broken.stderr]).toEqual([
      2,
      expect.stringMatching(
        new RegExp(
          `^rotabot status: STATE_DIR=${dir} cannot be used: ${dir}/logs is a file, not a folder; [^\\n]+\\n$`,
        ),
      ),
    ]);
  });
});
