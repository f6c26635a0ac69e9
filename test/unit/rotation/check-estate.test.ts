import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { connectionFindings, inventoryFindings, ownTokenFinding } from "../../../src/rotation/check-estate.js";
import type { Runbook } from "../../../src/runbook/runbook-schema.js";

const runbookWith = (environments: { name: string; inventory: string; env?: Record<string, string> }[]) =>
  ({ environments: environments.map((e) => ({ env: {}, ...e })) }) as unknown as Runbook;

function infraWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-estate-"));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}
const checksOf = async (runbook: Runbook, infra: string) =>
  (await inventoryFindings(runbook, infra)).map((f) => f.check);

describe("inventories no environment lists (issue 21, point 2)", () => {
  it("finds unlisted inventory files and folders beside the listed ones, and not group_vars, hidden files or documents", async () => {
    const infra = infraWith({
      "infra/inventory/staging.yml": "all: {}\n",
      "infra/inventory/production.yml": "all: {}\n",
      "infra/inventory/dr/hosts.ini": "[app]\n",
      "infra/inventory/group_vars/all.yml": "x: 1\n",
      "infra/inventory/.keep": "",
      "infra/inventory/README.md": "inventories\n",
    });
    expect(await checksOf(runbookWith([{ name: "staging", inventory: "infra/inventory/staging.yml" }]), infra)).toEqual(
      ["environment infra/inventory/dr/", "environment infra/inventory/production.yml"],
    );
  });

  it("reads a folder per environment: the folder above <environment>/hosts.yml, and listed folders", async () => {
    const infra = infraWith({
      "infra/inventory/staging/hosts.yml": "all: {}\n",
      "infra/inventory/staging/group_vars/all.yml": "x: 1\n",
      "infra/inventory/production/hosts.yml": "all: {}\n",
    });
    expect(
      await checksOf(runbookWith([{ name: "staging", inventory: "infra/inventory/staging/hosts.yml" }]), infra),
    ).toEqual(["environment infra/inventory/production/"]);
    expect(await checksOf(runbookWith([{ name: "staging", inventory: "infra/inventory/staging" }]), infra)).toEqual([
      "environment infra/inventory/production/",
    ]);
    const both = runbookWith([
      { name: "staging", inventory: "infra/inventory/staging" },
      { name: "production", inventory: "infra/inventory/production/hosts.yml" },
    ]);
    expect(await checksOf(both, infra)).toEqual([]);
  });

  it("refuses a listed inventory that is a link out of the infra checkout", async () => {
    const infra = infraWith({});
    mkdirSync(path.join(infra, "infra/inventory"), { recursive: true });
    symlinkSync("/etc/hostname", path.join(infra, "infra/inventory/staging.yml"));
    const findings = await inventoryFindings(
      runbookWith([{ name: "staging", inventory: "infra/inventory/staging.yml" }]),
      infra,
    );
    expect(findings).toEqual([
      expect.objectContaining({
        check: "environment staging",
        detail: "its inventory infra/inventory/staging.yml leads outside the infra checkout (to /etc/hostname)",
      }),
    ]);
  });
});

describe("rotabot's own token and the connection settings (issue 21, point 1)", () => {
  it("compares rotabot's token with the secret's value without putting either in the finding", () => {
    const token = "7001234567:AAownTokenOfRotabot_0123456789abcdefXYZ";
    const finding = ownTokenFinding(token, "vault_telegram_bot_token", token);
    expect(finding?.detail).toMatch(/^vault_telegram_bot_token holds rotabot's own BOT_TOKEN/);
    expect(JSON.stringify(finding)).not.toContain(token.split(":")[1]);
    expect(ownTokenFinding(token, "vault_telegram_bot_token", `${token}x`)).toBeUndefined();
    expect(ownTokenFinding(undefined, "vault_telegram_bot_token", token)).toBeUndefined();
  });

  it("names settings the checks could not use, only for the services the procedure talks to", async () => {
    const runbook = runbookWith([
      {
        name: "staging",
        inventory: "s.yml",
        env: { PGHOST: "db-s", NATS_URL: "nats://s", NATS_MONITOR_URL: "http://s:8222" },
      },
      { name: "production", inventory: "p.yml", env: { PGSSLMODE: "verify-full", NATS_CA: "/nonexistent/ca.pem" } },
    ]);
    const home = mkdtempSync(path.join(tmpdir(), "rotabot-home-"));
    const all = await connectionFindings(runbook, { HOME: home, PGSSLMODE: "prefered" }, new Set(["postgres", "nats"]));
    expect(all.map((f) => f.check)).toEqual([
      "environment staging PGSSLMODE",
      "environment production PGSSLROOTCERT",
      "environment production PGHOST",
      "environment production NATS_CA",
      "environment production NATS_URL",
      "environment production NATS_MONITOR_URL",
    ]);
    expect(all[1]!.detail).toBe(
      `PGSSLMODE=verify-full verifies the server's certificate, but no CA is configured (PGSSLROOTCERT is not set and ${home}/.postgresql/root.crt is missing)`,
    );
    expect(await connectionFindings(runbook, { HOME: home }, new Set())).toEqual([]);
  });
});
