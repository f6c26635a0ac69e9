import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  everythingWritten,
  leaks,
  makeRotationInfra,
  OLD_BILLING,
  OLD_REPORTS,
  startShell,
  type RotationInfra,
} from "../support/rotation-fixture.js";
import { makeChatInfra, OLD_VALUES } from "../support/chat-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";
import { vaultFor } from "../support/vault-fixture.js";

/** rotabot's own token, which a team may also have filed in its vault (issue 21, point 1). */
const OWN_TOKEN = "7001234567:AAownTokenOfRotabot_0123456789abcdefXYZ";
const valueOf = (infra: RotationInfra, key: string) =>
  new RegExp(`^${key}: "([^"]+)"$`, "m").exec(infra.vaultPlain())?.[1];
const rotationIdOf = (output: string) =>
  /Rotation (\d{8}-\d{4}-[0-9a-f]{4}) started/.exec(output)?.[1] ?? expect.fail(`no rotation id in:\n${output}`);
const journalOf = (infra: RotationInfra, id: string) =>
  JSON.parse(readFileSync(path.join(infra.stateDir, "rotations", `${id}.json`), "utf8")) as Record<string, unknown> & {
    state: string;
    steps: { id: string; state: string; attempts: number; process?: { pgid: number } }[];
  };

function expectConsistentVault(infra: RotationInfra, key: string, expectRotated: boolean) {
  const plain = infra.vaultPlain();
  expect(plain).not.toContain(`${key}_new`);
  const value = valueOf(infra, key);
  if (expectRotated) {
    expect(value).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(value).not.toBe(OLD_BILLING);
  } else {
    expect(value).toBe(OLD_BILLING);
  }
  return value!;
}

describe("rotabot rotate on the shell (general rolling procedure, fixture commands)", { timeout: 120_000 }, () => {
  it("runs the whole procedure and the completion checklist", async () => {
    const infra = makeRotationInfra();
    const shell = startShell(["rotate", "vault_billing_api_token"], infra.env);
    await shell.waitFor(/Start this rotation\? Type yes: /);
    expect(shell.output()).toMatch(/⚠ Remove the old secret and rename _new \(cannot be undone\)/);
    expect(shell.output()).toContain("bin/fixture-step.sh accept_both vault_billing_api_token");
    shell.answer("yes");
    await shell.waitFor(/Remove the old secret and rename _new\. This cannot be undone[^]*Type yes to go on/);
    shell.answer("yes");
    expect(await shell.exited).toBe(0);
    const newValue = expectConsistentVault(infra, "vault_billing_api_token", true);
    expect(valueOf(infra, "vault_reports_api_token")).toBe("old-reports-token-0123456789abcdef");
    expect(infra.calls()).toEqual(["accept_both", "cycle", "verify", "smoke"]);
    const output = shell.output();
    expect(output).toContain("new=[redacted] old=[redacted]");
    expect(output).toContain("✉ Owner to notify: @billing-team");
    expect(output).toMatch(/✅ vault_billing_api_token rotated, commit [0-9a-f]{7}/);
    expect(output).toMatch(/commit [0-9a-f]{7}; not pushed \(the runbook's git_commit has push: false\): push it/);

    const today = new Date().toISOString().slice(0, 10);
    const manifest = readFileSync(path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"), "utf8");
    expect(manifest).toContain(
      `  # billing\n  vault_billing_api_token:\n    category: api_token\n    owner: "@billing-team"\n    last_rotation: ${today}\n    custom: kept\n`,
    );
    const id = rotationIdOf(output);
    expect(readFileSync(path.join(infra.infraDir, "CHANGELOG.md"), "utf8")).toBe(
      `# Changelog\n\n## [Unreleased]\n\n### Security\n- ${today}: rotated \`vault_billing_api_token\` (rotation ${id}, by opsuser)\n\n## [1.0.0]\n\n- first\n`,
    );
    expect(infra.git("log", "-1", "--format=%B")).toContain(
      `Rotate vault_billing_api_token\n\nRotation ${id} by opsuser.`,
    );
    expect(infra.git("status", "--porcelain")).toBe("");
    expect(journalOf(infra, id).state).toBe("completed");
    expect(readdirSync(path.join(infra.stateDir, "vault-backups"))).toHaveLength(2);

    expect(leaks(everythingWritten(infra, [output]), [newValue, OLD_BILLING])).toEqual([]);

    const verified = await runRotabot(["audit", "verify"], infra.env, infra.infraDir);
    expect([verified.code, verified.stdout]).toEqual([
      0,
      expect.stringMatching(/^audit log intact: \d+ entries/) as string,
    ]);
    const auditFile = path.join(infra.stateDir, "audit.jsonl");
    const lines = readFileSync(auditFile, "utf8").trim().split("\n");
    expect(lines.some((l) => l.includes('"type":"rotation_completed"'))).toBe(true);
    writeFileSync(auditFile, `${lines.filter((_, i) => i !== 2).join("\n")}\n`);
    const tampered = await runRotabot(["audit", "verify"], infra.env, infra.infraDir);
    expect([tampered.code, tampered.stderr]).toEqual([
      1,
      expect.stringMatching(/audit log TAMPERED: .*audit\.jsonl line 3: /) as string,
    ]);
  });

  it("refuses a second rotation of the same secret, naming who runs the first and where it is", async () => {
    const infra = makeRotationInfra();
    infra.touch("pause-cycle");
    // api-token fits two secrets here: the shell asks for a key instead of guessing.
    const ambiguous = await runRotabot(["rotate", "api-token", "--yes"], infra.env, infra.infraDir);
    expect([ambiguous.code, ambiguous.stderr]).toEqual([
      2,
      'rotabot rotate: "api-token" fits several secrets; name one: vault_billing_api_token, vault_reports_api_token\n',
    ]);
    const running = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await running.waitFor(/▶ Cycle services one by one/);
    const second = await runRotabot(["rotate", "vault_billing_api_token", "--yes"], infra.env, infra.infraDir);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /vault_billing_api_token is already being rotated by opsuser since \S+ \(rotation \d{8}-\d{4}-[0-9a-f]{4}, running at "Cycle services one by one"\)/,
    );
    const other = await runRotabot(["rotate", "vault_reports_api_token", "--yes"], infra.env, infra.infraDir);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /rotation \S+ of vault_billing_api_token \(by opsuser\) is in flight and has changed the vault; rotations share the vault file and its commit, so finish or abort that one first/,
    );
    process.kill(-running.child.pid!, "SIGKILL");
  });

  it("names an unreadable manifest and its fix before anything runs, as the chat does", async () => {
    const infra = makeRotationInfra();
    writeFileSync(path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"), "secrets_manifest: [\n");
    const refused = await runRotabot(["rotate", "vault_billing_api_token", "--yes"], infra.env, infra.infraDir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^rotabot rotate: The manifest cannot be read: \S+_secrets_manifest\.yml:\d+: YAML syntax error.*\. Fix it \(rotabot age shows every problem\) and run rotabot rotate again\.\n$/,
    );
    expect(infra.vaultPlain()).not.toContain("vault_billing_api_token_new");
  });

  it("refuses to start during a deploy unless an incident is declared, and records the reason", async () => {
    const infra = makeRotationInfra();
    infra.touch(".deploy-in-progress");
    const refused = await runRotabot(["rotate", "vault_billing_api_token", "--yes"], infra.env, infra.infraDir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/a deploy seems to be running[^]*declare an incident with a reason/);
    expect(valueOf(infra, "vault_billing_api_token")).toBe(OLD_BILLING);
    const shell = startShell(
      ["rotate", "vault_billing_api_token", "--yes", "--incident", "token leaked in CI logs"],
      infra.env,
    );
    await shell.waitFor(/Type yes to go on/);
    const id = rotationIdOf(shell.output());
    expect(journalOf(infra, id).incident).toEqual({ reason: "token leaked in CI logs" });
    shell.answer("yes");
    expect(await shell.exited).toBe(0);
    expect(infra.git("log", "-1", "--format=%b")).toContain("(incident: token leaked in CI logs)");
  });

  it("holds the deploy marker from the first vault write until the rotation ends, also between steps", async () => {
    const infra = makeRotationInfra();
    const marker = () => path.join(infra.infraDir, ".deploy-in-progress");
    infra.touch("pause-verify"); // a check: it changes no service, and the vault holds _new
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await expect.poll(() => infra.exists("paused-verify"), { timeout: 30_000 }).toBe(true);
    const id = rotationIdOf(shell.output());
    expect(JSON.parse(readFileSync(marker(), "utf8"))).toMatchObject({ by: "rotabot", rotationId: id });
    // The marker and the vault's claim say who holds them, never a value.
    const held = [marker(), path.join(infra.stateDir, "locks", "vault.claim")].map((f) => readFileSync(f, "utf8"));
    const values = [OLD_BILLING, valueOf(infra, "vault_billing_api_token_new")!];
    expect(leaks(held.join("\n"), values)).toEqual([]);
    // A deploy now would render vault_billing_api_token_new: the team's pipeline must wait.
    expect(infra.git("ls-files", "--others", "--exclude-standard")).toBe("");
    infra.releasePaused("verify");
    await shell.waitFor(/Remove the old secret and rename _new\. This cannot be undone[^]*Type yes to go on/);
    expect(existsSync(marker())).toBe(true);
    shell.answer("yes");
    expect(await shell.exited).toBe(0);
    expect(existsSync(marker())).toBe(false);
  });

  it("aborts before the point of no return: rollback runs, _new is dropped, and it says what it put back", async () => {
    const infra = makeRotationInfra();
    // What ansible-playbook prints when a uri check gets the wrong status (ansible-core 2.14.18 here).
    writeFileSync(
      path.join(infra.infraDir, "fail-verify"),
      'fatal: [localhost]: FAILED! => {"changed": false, "msg": "Status code was 401 and not [200]: HTTP Error 401: Unauthorized", "status": 401}\n',
    );
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await shell.waitFor(
      /Verify all services use the new secret failed: .*exited with code 1[^]*\[r\]etry, \[m\]ark done, \[a\]bort\? /,
    );
    // The failure line carries the cause from the log, as the chat's card does.
    expect(shell.output()).toMatch(
      /✘ Verify all services use the new secret: [^\n]*\n {2}cause: fatal: \[localhost\]: Status code was 401 and not \[200\]: HTTP Error 401: Unauthorized\n/,
    );
    shell.answer("a");
    expect(await shell.exited).toBe(1);
    // Services had changed (accept_both, cycle), so "nothing else changed" would be a lie.
    expect(shell.output()).toMatch(
      /aborted by opsuser; vault_billing_api_token_new removed from the vault; rolled back: Put services back on the old value \(staging\); every service is back on the old value/,
    );
    expectConsistentVault(infra, "vault_billing_api_token", false);
    expect(infra.calls()).toEqual(["accept_both", "cycle", "verify", "rollback"]);
    expect(infra.git("status", "--porcelain")).toBe("");
    const again = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await again.waitFor(/Verify all services use the new secret failed/);
    process.kill(-again.child.pid!, "SIGKILL");
  });

  it("an abort whose rollback fails exits 1 and stays in flight; status says what failed where and how; --retry-rollback ends it", async () => {
    const infra = makeRotationInfra();
    infra.touch("fail-verify");
    infra.touch("fail-rollback");
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await shell.waitFor(/Verify all services use the new secret failed[^]*\[a\]bort\? $/);
    const id = rotationIdOf(shell.output());
    shell.endInput();
    expect(await shell.exited).toBe(1);

    const abort = await runRotabot(["abort", id], infra.env, infra.infraDir);
    expect(abort.code).toBe(1);
    expect(abort.stdout).toContain(
      "Aborting: 2 rollback steps\n↩ Remove vault_billing_api_token_new from the vault\n✔ Remove vault_billing_api_token_new from the vault: vault_billing_api_token_new is no longer in the vault\n↩ Put services back on the old value (staging)\n✘ Put services back on the old value (staging): ",
    );
    expect(abort.stdout).toContain(
      `aborted by opsuser, but the rollback failed, so rotation ${id} stays in flight (rollback failed): Put services back on the old value in staging failed: `,
    );
    expect(journalOf(infra, id).state).toBe("rollback_failed");

    const status = await runRotabot(["status"], infra.env, infra.infraDir);
    expect(status.stdout).toContain(`${id}  vault_billing_api_token  rollback_failed  by opsuser`);
    expect(status.stdout).toContain(
      "\n  vault: back on the old value\n  staging: “Put services back on the old value” failed: ",
    );
    expect(status.stdout).toContain(
      "; by hand: bin/fixture-step.sh rollback (it renders vault_billing_api_token, the old value, once vault_billing_api_token_new is gone)",
    );
    // A plain abort does not rerun it by surprise; a retry that fails again exits 1 again.
    const plain = await runRotabot(["abort", id], infra.env, infra.infraDir);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`rotabot abort ${id} --retry-rollback runs the whole rollback again`);
    const failedAgain = await runRotabot(["abort", id, "--retry-rollback"], infra.env, infra.infraDir);
    expect(failedAgain.code).toBe(1);
    expect(failedAgain.stdout).toContain(
      "Retrying the rollback: 1 rollback step\n↩ Put services back on the old value (staging)\n✘",
    );

    unlinkSync(path.join(infra.infraDir, "fail-rollback"));
    const retried = await runRotabot(["abort", id, "--retry-rollback"], infra.env, infra.infraDir);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(
      "aborted by opsuser; vault_billing_api_token_new removed from the vault; rolled back: Put services back on the old value (staging); every service is back on the old value",
    );
    expect((await runRotabot(["status"], infra.env, infra.infraDir)).stdout).toBe("No rotation in flight.\n");
    expectConsistentVault(infra, "vault_billing_api_token", false);
    expect(infra.git("status", "--porcelain")).toBe("");
    const audit = readFileSync(path.join(infra.stateDir, "audit.jsonl"), "utf8");
    expect(audit).toContain('"type":"rollback_failed"');
  });

  it("refuses to abort after the point of no return and says how to finish", async () => {
    const infra = makeRotationInfra();
    infra.touch("fail-smoke");
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await shell.waitFor(/Type yes to go on/);
    shell.answer("yes");
    await shell.waitFor(/Post-rotation smoke test failed[^]*\[r\]etry, \[m\]ark done\? $/);
    const id = rotationIdOf(shell.output());
    const abort = await runRotabot(["abort", id], infra.env, infra.infraDir);
    expect(abort.code).toBe(1);
    expect(abort.stderr).toMatch(
      /abort is no longer possible: "Remove the old secret and rename _new" has run and cannot be undone\. Finish the rotation/,
    );
    shell.answer("m");
    expect(await shell.exited).toBe(0);
    expectConsistentVault(infra, "vault_billing_api_token", true);
  });

  it("survives SIGKILL between steps: resume shows the pending confirmation again", async () => {
    const infra = makeRotationInfra();
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await shell.waitFor(/Type yes to go on/);
    const id = rotationIdOf(shell.output());
    process.kill(-shell.child.pid!, "SIGKILL");
    await shell.exited;
    const status = await runRotabot(["status"], infra.env, infra.infraDir);
    expect(status.stdout).toContain(`${id}  vault_billing_api_token  awaiting_operator  by opsuser`);
    const resumed = startShell(["resume", id], infra.env);
    await resumed.waitFor(/This cannot be undone[^]*Type yes to go on/);
    resumed.answer("yes");
    expect(await resumed.exited).toBe(0);
    const value = expectConsistentVault(infra, "vault_billing_api_token", true);
    expect(infra.calls()).toEqual(["accept_both", "cycle", "verify", "smoke"]);
    expect(leaks(everythingWritten(infra, [shell.output(), resumed.output()]), [value, OLD_BILLING])).toEqual([]);
  });

  it("survives SIGKILL during a non-idempotent step: it is not re-run unless the operator says so", async () => {
    const infra = makeRotationInfra();
    infra.touch("pause-cycle");
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await shell.waitFor(/▶ Cycle services one by one/);
    await expect.poll(() => infra.exists("paused-cycle"), { timeout: 10_000 }).toBe(true);
    const id = rotationIdOf(shell.output());
    process.kill(-shell.child.pid!, "SIGKILL");
    await shell.exited;
    infra.releasePaused("cycle");
    const resumed = startShell(["resume", id], infra.env);
    await resumed.waitFor(
      /"Cycle services one by one" was interrupted while running and may have partly happened[^]*\[r\]etry, \[m\]ark done, \[a\]bort\? /,
    );
    resumed.answer("m");
    await resumed.waitFor(/Type yes to go on/);
    resumed.answer("yes");
    expect(await resumed.exited).toBe(0);
    expectConsistentVault(infra, "vault_billing_api_token", true);
    expect(infra.calls()).toEqual(["accept_both", "cycle", "verify", "smoke"]);
    expect(journalOf(infra, id).steps.find((s) => s.id === "cycle")).toMatchObject({ state: "done", attempts: 1 });
  });

  it("re-runs an interrupted idempotent step by itself on resume", async () => {
    const infra = makeRotationInfra();
    infra.touch("pause-accept_both");
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await expect.poll(() => infra.exists("paused-accept_both"), { timeout: 60_000 }).toBe(true);
    const id = rotationIdOf(shell.output());
    process.kill(-shell.child.pid!, "SIGKILL");
    await shell.exited;
    infra.releasePaused("accept_both");
    const resumed = startShell(["resume", id], infra.env);
    await resumed.waitFor(/▶ Update affected services so both old and new values are accepted/);
    await resumed.waitFor(/Type yes to go on/);
    resumed.answer("yes");
    expect(await resumed.exited).toBe(0);
    expect(infra.calls()).toEqual(["accept_both", "accept_both", "cycle", "verify", "smoke"]);
    expectConsistentVault(infra, "vault_billing_api_token", true);
  });

  /**
   * rotabot alone dies (as the OOM killer does) while accept_both's command runs, in its own
   * process group; it lives on. `journaled: false` is a crash before the journal named the group.
   */
  async function crashDuringAcceptBoth(journaled: boolean) {
    const infra = makeRotationInfra();
    infra.touch("pause-accept_both");
    const shell = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await expect.poll(() => infra.exists("paused-accept_both"), { timeout: 60_000 }).toBe(true);
    const id = rotationIdOf(shell.output());
    // The journal names the command's process group just after the spawn.
    await expect
      .poll(() => journalOf(infra, id).steps.find((s) => s.id === "accept_both")?.process, { timeout: 30_000 })
      .toBeDefined();
    shell.child.kill("SIGKILL");
    await shell.exited;
    expect(journalOf(infra, id).steps.find((s) => s.id === "accept_both")).toMatchObject({ state: "running" });
    if (!journaled) {
      const journal = journalOf(infra, id);
      for (const step of journal.steps) delete step.process;
      writeFileSync(path.join(infra.stateDir, "rotations", `${id}.json`), JSON.stringify(journal));
    }
    return { infra, id, orphan: Number(infra.read("paused-accept_both").trim()) };
  }

  /** The resume waits (`waiting`), the orphan ends, then the step runs once more and the rotation ends. */
  async function resumeAfterOrphan(
    { infra, id, orphan }: Awaited<ReturnType<typeof crashDuringAcceptBoth>>,
    waiting: RegExp,
    ended: RegExp,
  ) {
    const resumed = startShell(["resume", id], infra.env);
    await resumed.waitFor(waiting);
    expect(infra.calls()).toEqual(["accept_both"]);
    expect(() => process.kill(orphan, 0)).not.toThrow();
    infra.releasePaused("accept_both");
    await resumed.waitFor(ended);
    await resumed.waitFor(/Type yes to go on/);
    resumed.answer("yes");
    expect(await resumed.exited).toBe(0);
    expect(infra.calls()).toEqual(["accept_both", "accept_both", "cycle", "verify", "smoke"]);
  }

  it("waits for a playbook a crash left running, and never runs it twice at once", async () => {
    await resumeAfterOrphan(
      await crashDuringAcceptBoth(true),
      /an earlier run of this step \(process group \d+\) is still running: waiting for it to end/,
      /the earlier run \(process group \d+\) has ended/,
    );
  });

  it("finds a playbook a crash left running before its process group was journaled, by the step's mark", async () => {
    await resumeAfterOrphan(
      await crashDuringAcceptBoth(false),
      /an earlier run of this step \(processes [\d, ]+, started before rotabot could note them\) is still running/,
      /the earlier run has ended/,
    );
  });

  it("offers to reuse or replace a _new left by an earlier attempt", async () => {
    const infra = makeRotationInfra();
    const leftover = "LeftoverFromAnEarlierAttempt_0123456abcd";
    await vaultFor(infra.vaultFiles).addNew("vault_billing_api_token", leftover);
    infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "earlier attempt");
    const reuse = startShell(["rotate", "vault_billing_api_token", "--yes"], infra.env);
    await reuse.waitFor(
      /vault_billing_api_token_new is already in the vault from an earlier attempt \(ends in …abcd\)\. Reuse it, or replace it with a new value\?[^]*re\[u\]se, re\[p\]lace, \[c\]ancel\? /,
    );
    reuse.answer("u");
    await reuse.waitFor(/Type yes to go on/);
    reuse.answer("yes");
    expect(await reuse.exited).toBe(0);
    expect(reuse.output()).toMatch(/⤼ Generate the new secret: reusing vault_billing_api_token_new/);
    expect(expectConsistentVault(infra, "vault_billing_api_token", true)).toBe(leftover);

    const replaceInfra = makeRotationInfra();
    await vaultFor(replaceInfra.vaultFiles).addNew("vault_billing_api_token", leftover);
    replaceInfra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "earlier attempt");
    const replace = startShell(["rotate", "vault_billing_api_token", "--yes"], replaceInfra.env);
    await replace.waitFor(/re\[u\]se, re\[p\]lace, \[c\]ancel\? /);
    replace.answer("p");
    await replace.waitFor(/Type yes to go on/);
    replace.answer("yes");
    expect(await replace.exited).toBe(0);
    const replaced = expectConsistentVault(replaceInfra, "vault_billing_api_token", true);
    expect(replaced).not.toBe(leftover);
  });

  it("takes a pasted token on the terminal without echoing it or leaving it anywhere (shipped SignalWire procedure)", async () => {
    const infra = makeChatInfra("1234567890:OldNotificationToken_0123456789abcdef");
    const pat = "PTshellPastedToken0123456789abcdef";
    const shell = startShell(["rotate", "signalwire", "--yes"], infra.env);
    await shell.waitFor(/Paste the value \(not echoed\)/);
    shell.answer(pat);
    await shell.waitFor(/revoke the old token[^]*Type done when it is done/);
    shell.answer("done");
    await shell.waitFor(/Type yes to go on/);
    shell.answer("yes");
    expect(await shell.exited).toBe(0);
    expect(shell.output()).toMatch(/received from opsuser, ends in …cdef/);
    expect(valueOf(infra, "vault_signalwire_token")).toBe(pat);
    expect(leaks(everythingWritten(infra, [shell.output()]), [pat, OLD_VALUES.vault_signalwire_token])).toEqual([]);
  });

  // Issue 14, items 2, 5 and 6: every precondition is checked before the first write.
  it.each([
    {
      refusal: "a key the vault does not have",
      args: ["vault_missing_api_token"],
      prepare: (infra: RotationInfra) => {
        appendFileSync(
          path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
          "  vault_missing_api_token: {category: api_token}\n",
        );
        infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "manifest names a missing key");
      },
      says: /^rotabot rotate: vault_missing_api_token is not in the vault \(infra\/group_vars\/all\/vault\.yml\), so there is nothing to rotate: add it with ansible-vault edit, or check the name in the manifest\. Nothing was written/,
    },
    {
      refusal: "a vault password file others can read",
      args: ["vault_billing_api_token"],
      prepare: (infra: RotationInfra) => chmodSync(infra.vaultFiles.passwordFile, 0o644),
      says: /is readable by other users: run chmod 600 \S+vault-pass\.txt, then start again/,
    },
    {
      refusal: "an incident reason holding another secret's value",
      args: ["vault_billing_api_token", "--incident", `the old token ${OLD_REPORTS} leaked`],
      prepare: () => undefined,
      says: /the incident reason contains a secret value \(one in the vault, or the bot's token\), so it was neither stored nor sent: give the reason without it, and treat that secret as exposed/,
    },
    // Issue 21, point 1: what would hurt on a real estate.
    {
      refusal: "a secret that holds rotabot's own BOT_TOKEN",
      args: ["vault_ops_api_token"],
      prepare: (infra: RotationInfra) => {
        appendFileSync(
          path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
          "  vault_ops_api_token: {category: api_token}\n",
        );
        infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "the bot's token as an api token");
      },
      says: /^rotabot rotate: vault_ops_api_token holds rotabot's own BOT_TOKEN: rotating it here would have you revoke the token rotabot runs on, and rotabot could not receive the new one \(fix: rotate rotabot's own token by its procedure, docs\/deploy\.md "Rotating rotabot's own bot token"[^]*Nothing was written/,
    },
    {
      refusal: "an inventory file that no environment lists",
      args: ["vault_billing_api_token"],
      prepare: (infra: RotationInfra) => {
        mkdirSync(path.join(infra.infraDir, "infra/inventory"));
        writeFileSync(path.join(infra.infraDir, "infra/inventory/staging.yml"), "all:\n  hosts:\n    localhost:\n");
        writeFileSync(path.join(infra.infraDir, "infra/inventory/production.yml"), "all:\n  hosts:\n    db1:\n");
        infra.git("-c", "user.name=f", "-c", "user.email=f@x", "add", "-A");
        infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qm", "production");
      },
      says: /^rotabot rotate: an inventory no environment lists \(the runbook rolls out to staging only\)[^]*fix: add it to environments: in the runbook[^]*or move it out of infra\/inventory[^]*Nothing was written/,
    },
    {
      refusal: "an inventory kept as a folder that no environment lists",
      args: ["vault_billing_api_token"],
      prepare: (infra: RotationInfra) => {
        mkdirSync(path.join(infra.infraDir, "infra/inventory/production/group_vars"), { recursive: true });
        writeFileSync(path.join(infra.infraDir, "infra/inventory/production/hosts.yml"), "all:\n  hosts:\n    db1:\n");
        infra.git("-c", "user.name=f", "-c", "user.email=f@x", "add", "-A");
        infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qm", "production");
      },
      says: /^rotabot rotate: an inventory no environment lists \(the runbook rolls out to staging only\)/,
    },
  ])("refuses $refusal with the next action, and writes nothing", async ({ args, prepare, says }) => {
    const infra = makeRotationInfra({ vault_ops_api_token: OWN_TOKEN });
    prepare(infra);
    const vaultBefore = readFileSync(infra.vaultFiles.vaultFile);
    const refused = await runRotabot(
      ["rotate", ...args, "--yes"],
      { ...infra.env, BOT_TOKEN: OWN_TOKEN },
      infra.infraDir,
    );
    expect(readFileSync(infra.vaultFiles.vaultFile).equals(vaultBefore), "the vault file changed").toBe(true);
    expect(infra.git("status", "--porcelain")).toBe("");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(says);
    for (const dir of ["rotations", "locks"]) {
      const full = path.join(infra.stateDir, dir);
      expect(existsSync(full) ? readdirSync(full) : []).toEqual([]);
    }
    expect(infra.exists("calls.log")).toBe(false);
    const everything = everythingWritten(infra, [refused.stdout, refused.stderr]);
    expect(leaks(everything, [OLD_BILLING, OLD_REPORTS, OWN_TOKEN])).toEqual([]);
  });
});
