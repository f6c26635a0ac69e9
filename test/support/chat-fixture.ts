import { writeFileSync } from "node:fs";
import path from "node:path";
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { SHIPPED_RUNBOOK } from "./paths.js";
import { makeRotationInfra } from "./rotation-fixture.js";

type Json = Record<string, unknown>;

/**
 * The shipped runbook with every command replaced by the fixture step script (which records
 * calls). Step order, kinds, confirmations, manual steps and tokens stay as shipped; the
 * Telegram checks stay real (they run against the fake Bot API).
 */
export function writeChatRunbook(dir: string): string {
  const runbook = parse(readFileSync(SHIPPED_RUNBOOK, "utf8")) as Json & { procedures: Json[]; epilogue: Json[] };
  const fixture = (id: string) => ["bin/fixture-step.sh", id];
  // {new_value} exists only from the vault_add_new step on (a check before the token changes has none).
  const rewrite = (step: Json, hasNew: boolean): Json => {
    const check = step.check as Json | undefined;
    if (step.kind === "run" || (step.kind === "verify" && step.argv))
      return { ...step, argv: fixture(String(step.id)), ...(hasNew ? { env: { NEW_VALUE: "{new_value}" } } : {}) };
    if (step.kind === "verify" && check && !String(check.builtin).startsWith("telegram"))
      return { id: step.id, title: step.title, kind: "verify", argv: fixture(String(step.id)) };
    if (step.kind === "wait_drain" || step.kind === "postgres_set_password" || step.kind === "nats_reload") {
      return {
        id: step.id,
        title: step.title,
        kind: "run",
        argv: fixture(String(step.id)),
        destructive: step.destructive ?? false,
        idempotent: true,
        ...(step.seed === undefined ? {} : { seed: step.seed, note: step.note }),
      };
    }
    return step;
  };
  runbook.deploy_guard = { argv: ["test", "!", "-e", ".deploy-in-progress"] };
  runbook.procedures = runbook.procedures.map((p) => ({
    ...p,
    steps: (p.steps as Json[]).map((step, i, all) =>
      rewrite(
        step,
        all.slice(0, i).some((s) => s.kind === "vault_add_new"),
      ),
    ),
    // Rollbacks run after <key>_new is dropped: no {new_value} there.
    rollback: ((p.rollback as Json[] | undefined) ?? []).map((step) =>
      step.kind === "vault_drop_new" ? step : { ...rewrite(step, false), destructive: false },
    ),
  }));
  runbook.epilogue = runbook.epilogue.map((step) => rewrite(step, true));
  const file = path.join(dir, "chat-runbook.yml");
  writeFileSync(file, stringify(runbook));
  return file;
}

export const OLD_VALUES = {
  vault_signalwire_token: "PToldSignalWireToken0123456789abcdef",
  vault_postgres_app_password: "OldPostgresPassword0123456789ab",
  vault_nats_password: "OldNatsPassword0123456789abcdef",
  vault_sentry_dsn: "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42",
} as const;

/** An infra checkout holding every secret of the seed, for chat walkthroughs. */
export function makeChatInfra(oldTelegramToken: string) {
  const infra = makeRotationInfra({ ...OLD_VALUES, vault_telegram_bot_token: oldTelegramToken });
  writeFileSync(
    path.join(infra.infraDir, "infra/group_vars/all/_secrets_manifest.yml"),
    `secrets_manifest:
  vault_telegram_bot_token: {category: telegram_bot_token, owner: "@alerts-oncall", last_rotation: 2025-01-01}
  vault_signalwire_token: {category: signalwire_pat, owner: "@voice-team", last_rotation: 2025-01-01}
  vault_postgres_app_password: {category: database_password, owner: "@backend-team", last_rotation: 2025-01-01}
  vault_nats_password: {category: nats_password, owner: "@platform-team"}
  vault_sentry_dsn: {category: sentry_dsn, owner: "@backend-team"}
  vault_billing_api_token: {category: api_token, owner: "@billing-team", last_rotation: 2025-01-01}
`,
  );
  infra.git("-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qam", "all seed secrets");
  const runbookFile = writeChatRunbook(infra.stateDir);
  return { ...infra, env: { ...infra.env, RUNBOOK_FILE: runbookFile } };
}
