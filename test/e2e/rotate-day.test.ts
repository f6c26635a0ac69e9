import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Day } from "../../src/rotation-day/create-day-journal.js";
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

const valueOf = (infra: RotationInfra, key: string) =>
  new RegExp(`^${key}: "([^"]+)"$`, "m").exec(infra.vaultPlain())?.[1];
const dayOf = (infra: RotationInfra): Day => {
  const dir = path.join(infra.stateDir, "days");
  const [file, ...more] = readdirSync(dir).filter((n) => n.endsWith(".json"));
  expect(more).toEqual([]);
  return JSON.parse(readFileSync(path.join(dir, file!), "utf8")) as Day;
};
/** Real ansible-vault and git on a machine shared by several test runs: generous waits. */
const LONG = 120_000;
const today = () => new Date().toISOString().slice(0, 10);

/** The shipped procedures (fixture commands): three of the six secrets due, the others rotated today. */
function makeDueInfra() {
  const infra = makeChatInfra("1234567890:OldNotificationToken_0123456789abcdef");
  writeFileSync(
    path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
    `secrets_manifest:
  vault_billing_api_token: {category: api_token, owner: "@billing-team", last_rotation: 2025-01-01}
  vault_sentry_dsn: {category: sentry_dsn, owner: "@backend-team", rotate_every: 12 months}
  vault_telegram_bot_token: {category: telegram_bot_token, owner: "@alerts-oncall", last_rotation: ${today()}}
  vault_signalwire_token: {category: signalwire_pat, owner: "@voice-team", last_rotation: 2025-01-01}
  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: ${today()}}
  vault_nats_password: {category: nats_password, owner: "@platform-team"}
`,
  );
  infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "three secrets due");
  return infra;
}

describe("rotabot rotate --due: a rotation day on the shell", { timeout: 600_000 }, () => {
  it("takes every due secret through its rotation with one Start, and a failure stops only that one", async () => {
    const infra = makeDueInfra();
    const pat = "PTdayPastedToken0123456789abcdefWXYZ";
    const dsn = "https://fedcba9876543210fedcba9876543210@o1.ingest.sentry.io/42";
    // One injected failure: Sentry's backend deploy fails; the operator skips it.
    writeFileSync(path.join(infra.infraDir, "fail-deploy_backend"), "fatal: [backend1]: UNREACHABLE!\n");
    const shell = startShell(["rotate", "--due"], infra.env);
    await shell.waitFor(/Start the rotation day\? Type yes: /, LONG);
    const plan = shell.output();
    expect(plan).toContain("Rotation day: 3 secrets due, run one after another in the runbook's order:");
    // The runbook's order (SignalWire, Sentry, API tokens), not the manifest's; nothing not due.
    expect([...plan.matchAll(/^\d\. (\S+) /gm)].map((m) => m[1])).toEqual([
      "vault_signalwire_token",
      "vault_sentry_dsn",
      "vault_billing_api_token",
    ]);
    expect(plan).toMatch(
      /1\. vault_signalwire_token \(SignalWire Personal Access Token\), overdue by \d+ days, owner @voice-team\n {3}your hands: paste "[^"]+" \(asked up front\); do by hand "Revoke the old token in SignalWire"/,
    );
    expect(plan).toMatch(/2\. vault_sentry_dsn \(Sentry DSN\), never rotated/);
    expect(plan).toMatch(
      /3\. vault_billing_api_token \(API token \(general rolling procedure\)\), overdue by \d+ days, owner @billing-team\n {3}unattended but for the confirmations/,
    );
    shell.answer("yes");
    // Both credentials made by hand are asked before the first rotation starts.
    await shell.waitFor(
      /vault_signalwire_token: Create a new Personal Access Token[^]*Paste the value \(not echoed\)/,
      LONG,
    );
    expect(shell.output()).not.toMatch(/Rotation \S+ started/);
    shell.answer("not a token");
    await shell.waitFor(/That does not look like a SignalWire Personal Access Token[^]*Paste the value/, LONG);
    shell.answer(pat);
    await shell.waitFor(
      /Kept for vault_signalwire_token, ends in …WXYZ\.[^]*vault_sentry_dsn: Paste the new DSN[^]*Paste the value/,
      LONG,
    );
    shell.answer(dsn);
    await shell.waitFor(/Kept for vault_sentry_dsn, ends in …3210\./, LONG);
    // Nothing was written before its rotation's turn: the vault holds no _new yet.
    expect(infra.vaultPlain()).not.toMatch(/_new:/);

    await shell.waitFor(
      /── 1\/3 vault_signalwire_token ──[^]*Answered with the value given at the start of the day\.[^]*Type done when it is done/,
      LONG,
    );
    shell.answer("done");
    await shell.waitFor(/Type yes to go on/, LONG);
    shell.answer("yes");
    await shell.waitFor(/── 2\/3 vault_sentry_dsn ──[^]*Type yes to go on/, LONG);
    shell.answer("yes");
    await shell.waitFor(
      /Answered with the value given at the start of the day\.[^]*✘ Re-deploy backend with the new DSN[^]*\[r\]etry, \[m\]ark done, \[s\]kip \(roll this one back, go on with the next secret\), \[a\]bort the day \(roll this one back, start no more\)\? /,
      LONG,
    );
    shell.answer("s");
    await shell.waitFor(/── 3\/3 vault_billing_api_token ──[^]*Type yes to go on/, LONG);
    shell.answer("yes");
    expect(await shell.exited).toBe(1);

    const output = shell.output();
    const summary = output.slice(output.lastIndexOf("\nRotation day "));
    expect(summary).toMatch(
      /^\nRotation day day-\d{8}-\d{4}-[0-9a-f]{4}:\n {2}✅ vault_signalwire_token: completed in \d+\.\d min \(rotation \S+\)\n {2}⤼ vault_sentry_dsn: skipped in \d+\.\d min \(rotation \S+\): .+\n {2}✅ vault_billing_api_token: completed in \d+\.\d min \(rotation \S+\)\n/,
    );
    expect(summary).toMatch(/🏁 Rotation day \S+: 2 of 3 rotated; 1 still due/);

    // Each rotation stayed an ordinary rotation: its own id, journal, commit and manifest line.
    const day = dayOf(infra);
    expect(day.state).toBe("ended");
    expect(day.entries.map((e) => [e.key, e.outcome])).toEqual([
      ["vault_signalwire_token", "completed"],
      ["vault_sentry_dsn", "skipped"],
      ["vault_billing_api_token", "completed"],
    ]);
    expect(new Set(day.entries.map((e) => e.rotationId)).size).toBe(3);
    expect(valueOf(infra, "vault_signalwire_token")).toBe(pat);
    expect(valueOf(infra, "vault_sentry_dsn")).toBe(OLD_VALUES.vault_sentry_dsn);
    const billing = valueOf(infra, "vault_billing_api_token");
    expect(billing).not.toBe(OLD_BILLING);
    expect(infra.vaultPlain()).not.toMatch(/_new:/);
    expect(infra.git("log", "--format=%s", "-3").trim().split("\n")).toEqual([
      "Rotate vault_billing_api_token",
      "Rotate vault_signalwire_token",
      "three secrets due",
    ]);
    expect(infra.git("status", "--porcelain")).toBe("");
    const age = await runRotabot(["age", "--json"], infra.env, infra.infraDir);
    const rows = JSON.parse(age.stdout) as { key: string; status: string }[];
    expect(rows.filter((r) => r.status === "overdue" || r.status === "never_rotated").map((r) => r.key)).toEqual([
      "vault_sentry_dsn",
    ]);
    // The DSN the rotation took and then dropped is named for its revoke.
    expect(output).toMatch(
      /⤼ vault_sentry_dsn: skipped .*Created for this rotation and still valid: disable or delete client key …3210 in Sentry/,
    );
    expect(
      leaks(everythingWritten(infra, [output]), [pat, dsn, billing!, ...Object.values(OLD_VALUES), OLD_BILLING]),
    ).toEqual([]);
  });

  it("aborts the day at a failure: that rotation is rolled back and no other starts", async () => {
    const infra = makeRotationInfra();
    infra.touch("fail-cycle");
    const shell = startShell(["rotate", "--due", "--yes"], infra.env);
    await shell.waitFor(/── 1\/2 vault_billing_api_token ──[^]*\[s\]kip[^]*\[a\]bort the day[^]*\? /, LONG);
    shell.answer("a");
    expect(await shell.exited).toBe(1);
    expect(shell.output()).toMatch(
      /⏹ vault_billing_api_token: aborted in \d+\.\d min \(rotation \S+\): .*\n {2}⛔ vault_reports_api_token: not started: the day was aborted before its turn\n/,
    );
    expect(infra.calls()).toEqual(["accept_both", "cycle", "rollback"]);
    expect(valueOf(infra, "vault_billing_api_token")).toBe(OLD_BILLING);
    expect(valueOf(infra, "vault_reports_api_token")).toBe(OLD_REPORTS);
    expect(dayOf(infra).state).toBe("ended");
  });

  it("resumes an interrupted day where it stopped, the waiting rotation resumed rather than started again", async () => {
    const infra = makeRotationInfra();
    const first = startShell(["rotate", "--due", "--yes"], infra.env);
    await first.waitFor(/── 1\/2 vault_billing_api_token ──[^]*Type yes to go on/, LONG);
    process.kill(first.child.pid!, "SIGTERM");
    expect(await first.exited).toBe(1);
    expect(first.output()).toMatch(/The day is not over\. Continue it with: rotabot rotate --due/);
    const interrupted = dayOf(infra);
    expect(interrupted.state).toBe("running");
    const billingRotation = interrupted.entries[0]!.rotationId;
    expect(billingRotation).toMatch(/^\d{8}-\d{4}-[0-9a-f]{4}$/);

    const again = startShell(["rotate", "--due"], infra.env);
    await again.waitFor(
      /Resuming rotation day \S+[^]*── 1\/2 vault_billing_api_token ──\nRotation (\S+) resumed\.[^]*Type yes to go on/,
      LONG,
    );
    expect(again.output()).toContain(`Rotation ${billingRotation} resumed.`);
    again.answer("yes");
    await again.waitFor(/── 2\/2 vault_reports_api_token ──[^]*Type yes to go on/, LONG);
    again.answer("yes");
    expect(await again.exited).toBe(0);
    expect(again.output()).toMatch(/🏁 Rotation day \S+: 2 of 2 rotated\./);
    expect(dayOf(infra).entries.map((e) => e.outcome)).toEqual(["completed", "completed"]);
    expect(infra.calls()).toEqual([
      "accept_both",
      "cycle",
      "verify",
      "smoke",
      "accept_both",
      "cycle",
      "verify",
      "smoke",
    ]);
  });

  it("says when nothing is due, and refuses a secret name beside --due", async () => {
    const infra = makeRotationInfra();
    writeFileSync(
      path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
      `secrets_manifest:\n  vault_billing_api_token: {category: api_token, last_rotation: ${today()}}\n`,
    );
    infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "rotated today");
    const none = await runRotabot(["rotate", "--due"], infra.env, infra.infraDir);
    expect([none.code, none.stdout]).toEqual([
      0,
      "Nothing is overdue or never rotated: no rotation day needed (rotabot age shows what is due soon).\n",
    ]);
    const both = await runRotabot(["rotate", "--due", "vault_billing_api_token"], infra.env, infra.infraDir);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^rotabot rotate: --due takes no <secret\|alias>: give one or the other\n/);
  });
});
