import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiGateway } from "../../../src/sandbox/stand-ins/api-gateway.js";
import { PROJECT_ROOT } from "../../support/paths.js";
import { makeVaultFile } from "../../support/vault-fixture.js";

// Issue 21, point 9: "Cycle services one by one" is Ansible's rolling update, `serial: 1` with a
// health check per host, not `--forks 1` (which only runs each task on one host at a time, every
// host still getting each task before the next task starts). The box's rotate_api_token.yml, run
// by the real ansible-playbook on two hosts: when the first host's client is not served after its
// switch, the second host is never touched.
const OLD = "old-billing-token-0123456789abcdefghij";
const NEW = "new-billing-token-0123456789abcdefghij";
const sha = (token: string) => createHash("sha256").update(token).digest("hex");

let infraDir: string;
let keysDir: string;
let passwordFile: string;
let gateway: Awaited<ReturnType<typeof startApiGateway>>;
const tokenOf = (host: string) =>
  readFileSync(path.join(infraDir, "hosts", host, "api-clients/vault_billing_api_token.token"), "utf8").trim();

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), "rotabot-rolling-"));
  infraDir = path.join(root, "akira");
  cpSync(path.join(PROJECT_ROOT, "deploy/sandbox/infra"), infraDir, { recursive: true, verbatimSymlinks: true });
  keysDir = path.join(root, "gateway");
  mkdirSync(keysDir);
  gateway = await startApiGateway({ keysDir });
  const vault = makeVaultFile(`vault_billing_api_token: "${OLD}"\nvault_billing_api_token_new: "${NEW}"\n`);
  passwordFile = vault.passwordFile;
  cpSync(vault.vaultFile, path.join(infraDir, "infra/group_vars/all/vault.yml"));
  // Two app hosts, each with its own client; one gateway (its list shared by both hosts' paths).
  for (const host of ["app1", "app2"]) {
    mkdirSync(path.join(infraDir, "hosts", host, "api-clients"), { recursive: true });
    writeFileSync(path.join(infraDir, "hosts", host, "api-clients/vault_billing_api_token.token"), `${OLD}\n`);
    symlinkSync(keysDir, path.join(infraDir, "hosts", host, "api-gateway"));
  }
  const host = (name: string) =>
    `        ${name}:\n          ansible_connection: local\n          ansible_python_interpreter: /usr/bin/python3\n          services_root: ${path.join(infraDir, "hosts", name)}\n`;
  writeFileSync(
    path.join(infraDir, "infra/inventory/staging.yml"),
    `all:\n  vars:\n    api_gateway_url: ${gateway.url}\n  children:\n    app:\n      hosts:\n${host("app1")}${host("app2")}`,
  );
}, 60_000);
afterAll(() => gateway?.close());

const playbook = (...args: string[]) =>
  execa(
    "ansible-playbook",
    [
      "-i",
      "infra/inventory/staging.yml",
      "infra/playbooks/rotate_api_token.yml",
      "--vault-password-file",
      passwordFile,
      "-e",
      "secret_key=vault_billing_api_token",
      ...args,
    ],
    { cwd: infraDir, reject: false, all: true, env: { ANSIBLE_NOCOLOR: "1" } },
  );

describe("the box's rotate_api_token.yml cycles the clients one host at a time", { timeout: 240_000 }, () => {
  it("stops the rollout at the first host whose client is not served: the next host keeps the old token", async () => {
    // The gateway accepts the old token only: accept_both "forgotten".
    writeFileSync(path.join(keysDir, "vault_billing_api_token.sha256"), `${sha(OLD)}\n`);
    const cycle = await playbook("--tags", "cycle");
    expect(cycle.exitCode).not.toBe(0);
    expect(cycle.all).toContain("the gateway refuses the token the client on app1 now holds (HTTP 401)");
    expect(tokenOf("app1")).toBe(NEW);
    expect(tokenOf("app2")).toBe(OLD);
    expect(cycle.all).not.toMatch(/changed: \[app2\]/);
  });

  it("switches and checks each host in turn when the gateway accepts both", async () => {
    writeFileSync(path.join(keysDir, "vault_billing_api_token.sha256"), `${sha(OLD)}\n${sha(NEW)}\n`);
    const cycle = await playbook("--tags", "cycle");
    expect(cycle.exitCode, cycle.all).toBe(0);
    expect([tokenOf("app1"), tokenOf("app2")]).toEqual([NEW, NEW]);
    // serial: 1 runs the play once per host: app1's switch and check come before app2's switch.
    const order = [...cycle.all.matchAll(/^(?:changed|ok): \[(app\d)\]/gm)].map((m) => m[1]);
    expect(order.indexOf("app2")).toBeGreaterThan(order.lastIndexOf("app1"));
    expect(cycle.all).toContain("the client on app1 is served with its token");
  });
});
