import { describe, expect, it } from "vitest";
import { describePlan } from "../../../src/rotation/describe-plan.js";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const paths = { vaultPasswordFile: "/etc/rotabot/vault-pass", infraDir: "/srv/infra", stateDir: "/var/lib/rotabot" };

describe("the plan's commands", () => {
  it("fill in paths and keys, never a value, for every shipped procedure", async () => {
    const loaded = await loadRunbook(SHIPPED_RUNBOOK);
    if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
    const { runbook } = loaded;
    for (const procedure of runbook.procedures) {
      const key = procedure.secret ?? "vault_billing_api_token";
      const details = describePlan(runbook, procedure, { key, paths }).flatMap((l) => (l.detail ? [l.detail] : []));
      expect(details.filter((d) => /\{[a-z_]+\}/.test(d))).toEqual([]);
    }
    const api = runbook.procedures.find((p) => p.id === "api-token")!;
    const accept = describePlan(runbook, api, { key: "vault_billing_api_token", paths }).find((l) =>
      l.title.startsWith("Update affected services"),
    )!;
    expect(accept.detail).toBe(
      "ansible-playbook -i infra/inventory/staging.yml infra/playbooks/rotate_api_token.yml --vault-password-file /etc/rotabot/vault-pass --tags accept_both -e secret_key=vault_billing_api_token",
    );
  });

  it("carry the seed runbook's words and the note on why a step differs, as one line each", async () => {
    const loaded = await loadRunbook(SHIPPED_RUNBOOK);
    if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
    const { runbook } = loaded;
    const nats = runbook.procedures.find((p) => p.id === "nats")!;
    const lines = describePlan(runbook, nats, { key: nats.secret!, paths });
    const reload = lines.find((l) => l.seed === "docker exec nats nats-server -sl")!;
    expect(reload.note).toMatch(
      /^The seed.s command does not reload: nats-server 2\.9\.10 reads -sl as --signal without its value, prints/,
    );
    expect(reload.note).not.toContain("\n");
    // A step the seed words as it runs has neither.
    expect(lines.find((l) => l.kind === "vault_add_new")).toMatchObject({ seed: undefined, note: undefined });
  });
});
