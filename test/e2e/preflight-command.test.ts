import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeRotationInfra } from "../support/rotation-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";

// `rotabot preflight` on the fixture checkout (its commands are not playbooks): the command line,
// the JSON verdicts, and STATE_DIR left as it was, not even its folders created.
describe("rotabot preflight on the command line", { timeout: 60_000 }, () => {
  it("prints one verdict per check as JSON, exits 0 when a rotation would start, and creates nothing in STATE_DIR", async () => {
    const infra = makeRotationInfra();
    rmSync(infra.stateDir, { recursive: true });
    const { code, stdout, stderr } = await runRotabot(
      ["preflight", "vault_billing_api_token", "--json"],
      infra.env,
      infra.infraDir,
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const verdicts = JSON.parse(stdout) as { check: string; status: string }[];
    expect(verdicts.map((v) => `${v.status} ${v.check}`)).toEqual([
      "ok procedure",
      "ok vault password file",
      "ok secret vault_billing_api_token",
      "ok estate",
      "ok infra checkout",
      "ok deploy guard",
      "ok deploy marker",
      "warn deploy guard wiring",
      "warn telegram",
    ]);
    expect(existsSync(infra.stateDir)).toBe(false);
    expect(infra.git("status", "--porcelain")).toBe("");
    expect(infra.exists("calls.log")).toBe(false);
  });

  it("refuses an environment the runbook does not have, and a secret it has no procedure for", async () => {
    const infra = makeRotationInfra();
    const environment = await runRotabot(
      ["preflight", "vault_billing_api_token", "--environment", "production"],
      infra.env,
      infra.infraDir,
    );
    expect(environment.code).toBe(2);
    expect(environment.stderr).toBe('rotabot preflight: no environment "production" in the runbook; it has staging\n');
    const unknown = await runRotabot(["preflight", "nosuch"], infra.env, infra.infraDir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^rotabot preflight: no procedure for "nosuch"\. Known: /);
    expect(readdirSync(infra.stateDir)).toEqual([]);
  });

  it("names an unreadable manifest and its fix, not an unknown secret, as rotate does", async () => {
    const infra = makeRotationInfra();
    writeFileSync(path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"), "secrets_manifest: [\n");
    const refused = await runRotabot(["preflight", "vault_billing_api_token"], infra.env, infra.infraDir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^rotabot preflight: The manifest cannot be read: \S+_secrets_manifest\.yml:\d+: YAML syntax error.*\. Fix it \(rotabot age shows every problem\) and run rotabot preflight again\.\n$/,
    );
  });
});
