import { describe, expect, it } from "vitest";
import { shellActor } from "../../../src/cli/shell-actor.js";

describe("who acts on the shell", () => {
  it("names the person and, beside them, the account rotabot runs as and how they got there", () => {
    const cases: [Record<string, string>, string | undefined, { id: string; name: string }][] = [
      [{ USER: "opsuser" }, undefined, { id: "shell:opsuser", name: "opsuser" }],
      [{ USER: "opsuser" }, "opsuser", { id: "shell:opsuser", name: "opsuser" }],
      [{ USER: "opsuser" }, "alice", { id: "shell:alice", name: "alice (as opsuser)" }],
      [{ USER: "root", SUDO_USER: "bob" }, undefined, { id: "shell:bob", name: "bob (as root via sudo)" }],
      [{ USER: "root", SUDO_USER: "alice" }, "alice", { id: "shell:alice", name: "alice (as root via sudo)" }],
      [{ USER: "root", SUDO_USER: "bob" }, "@alice", { id: "shell:@alice", name: "@alice (as root via sudo by bob)" }],
      // Run as root without sudo: the CHANGELOG no longer says only "by root" when --as is given.
      [{ USER: "root" }, "alice", { id: "shell:alice", name: "alice (as root)" }],
      [{ USER: "rotabot", SUDO_USER: "rotabot" }, "alice", { id: "shell:alice", name: "alice (as rotabot)" }],
    ];
    for (const [env, as, actor] of cases) expect(shellActor(env, as)).toEqual({ ok: true, actor });
  });

  it("refuses an --as that could write a second CHANGELOG line, a control or bidi character, or a look-alike letter", () => {
    for (const as of [
      "alice\n- 2026-01-01: rotated `vault_x`",
      "al\u202Eice",
      "\u0430lice",
      "",
      "a".repeat(65),
      "a b",
    ]) {
      const refused = shellActor({ USER: "opsuser" }, as);
      expect(refused).toMatchObject({ ok: false, reason: "invalid_name" });
      expect(!refused.ok && refused.message).toMatch(/^--as takes the name of the person at the keyboard/);
    }
  });

  it("does not take a user name from the environment that could inject text: it falls back to the system's", () => {
    const injected = shellActor({ USER: "x\n- 2026: rotated", SUDO_USER: "y)\n(z" }, undefined);
    expect(injected.ok && injected.actor.name).not.toMatch(/[\n()]/);
    expect(injected.ok && injected.actor.id).toMatch(/^shell:[A-Za-z0-9._-]+$/);
  });
});
