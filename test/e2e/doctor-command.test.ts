import { appendFileSync, chmodSync, unlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";
import { makeRotationInfra } from "../support/rotation-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";
import { vaultFor } from "../support/vault-fixture.js";

interface Check {
  check: string;
  status: string;
  detail: string;
  fix?: string;
}
const doctor = async (env: Record<string, string>) => {
  const result = await runRotabot(["doctor", "--json"], env);
  return { code: result.code, checks: JSON.parse(result.stdout) as Check[] };
};
const statusOf = (checks: Check[], name: string) => checks.find((c) => c.check === name);

let tg: FakeBotApi;
beforeAll(async () => {
  tg = await startFakeBotApi();
});
afterAll(() => tg.close());

describe("rotabot doctor", { timeout: 60_000 }, () => {
  it("passes on a healthy infra checkout and bot, and names every check", async () => {
    const infra = makeRotationInfra();
    const { id, token } = tg.addBot({ id: 4_000_001, username: "doctor_ok_bot" });
    tg.addGroup({ id: -1004000001, title: "Ops", members: [], bots: [id] });
    tg.addGroup({ id: -1004000002, title: "Audit", type: "channel", members: [], bots: [id], adminBots: [id] });
    const { code, checks } = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000001",
      AUDIT_CHAT_ID: "-1004000002",
    });
    expect(checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(code).toBe(0);
    expect(checks.map((c) => c.check)).toEqual(
      expect.arrayContaining([
        "runbook",
        "tool ansible-vault",
        "tool git",
        "file bin/fixture-step.sh",
        "vault password file",
        "vault",
        "manifest",
        "STATE_DIR",
        "telegram bot",
        "ops chat",
        "audit chat",
      ]),
    );
  });

  it("fails with a fix for each problem: missing script, stray _new, manifest key not in vault, loose password file, bot not an admin of the audit channel", async () => {
    const infra = makeRotationInfra();
    unlinkSync(path.join(infra.infraDir, "bin/fixture-step.sh"));
    await vaultFor(infra.vaultFiles).addNew("vault_billing_api_token", "strayNewValue0123456789");
    chmodSync(infra.env.VAULT_PASSWORD_FILE, 0o644);
    appendFileSync(
      path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
      "  vault_missing_api_token: {category: api_token}\n",
    );
    const { id, token } = tg.addBot({ id: 4_000_002, username: "doctor_bad_bot" });
    tg.addGroup({ id: -1004000003, title: "Ops", members: [], bots: [id] });
    tg.addGroup({ id: -1004000004, title: "Audit", type: "channel", members: [], bots: [id] });
    const { code, checks } = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000003",
      AUDIT_CHAT_ID: "-1004000004",
    });
    expect(code).toBe(1);
    expect(statusOf(checks, "file bin/fixture-step.sh")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("add it to the infra checkout") as string,
    });
    expect(statusOf(checks, "secret vault_billing_api_token_new")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("resume or abort that rotation") as string,
    });
    expect(statusOf(checks, "secret vault_missing_api_token")).toMatchObject({
      status: "fail",
      detail: "in the manifest but not in the vault",
    });
    expect(statusOf(checks, "vault password file")).toMatchObject({ status: "warn", fix: "chmod 600 the file" });
    expect(statusOf(checks, "audit chat")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("administrator of the channel") as string,
    });
    tg.revokeToken(token);
    const revoked = await doctor({
      ...infra.env,
      BOT_TOKEN: token,
      TELEGRAM_API_ROOT: tg.url,
      OPS_CHAT_ID: "-1004000003",
    });
    expect(statusOf(revoked.checks, "telegram bot")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("@BotFather") as string,
    });
  });
});
