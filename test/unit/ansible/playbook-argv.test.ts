import { describe, expect, it } from "vitest";
import { describePlaybookArgv, listTasksArgv, selectionOf } from "../../../src/ansible/playbook-argv.js";

describe("ansible-playbook argv", () => {
  it("reads playbooks, tags, skip-tags, limit and inventory in every spelling ansible-playbook accepts", () => {
    const call = describePlaybookArgv([
      "/usr/bin/ansible-playbook",
      "-i",
      "infra/inventory/staging.yml",
      "infra/playbooks/deploy.yml",
      "--vault-password-file",
      "/home/ops/pass.txt",
      "--tags",
      "config, reload",
      "-tcdr_bridge",
      "--skip-tags=slow",
      "-e",
      "secret_key=vault_x_api_token",
      "--limit",
      "nats1",
      "--forks",
      "1",
      "-vv",
      "--check",
    ]);
    expect(call).toEqual({
      playbooks: ["infra/playbooks/deploy.yml"],
      tags: ["config", "reload", "cdr_bridge"],
      skipTags: ["slow"],
      limit: "nats1",
      inventory: ["infra/inventory/staging.yml"],
    });
    expect(selectionOf(call!)).toBe(
      "infra/playbooks/deploy.yml --tags config,reload,cdr_bridge --skip-tags slow --limit nats1",
    );
    expect(describePlaybookArgv(["docker", "exec", "nats", "nats-server", "-sl"])).toBeUndefined();
  });

  it("lists the same run: every option kept, --list-tasks --list-hosts added", () => {
    const argv = [
      "ansible-playbook",
      "-i",
      "inv.yml",
      "p.yml",
      "--vault-password-file",
      "pw",
      "--tags",
      "x",
      "-e",
      "a=b",
    ];
    expect(listTasksArgv(argv)).toEqual([...argv, "--list-tasks", "--list-hosts"]);
    expect(() => listTasksArgv(["nats-server", "-sl"])).toThrow(/not an ansible-playbook command/);
  });
});
