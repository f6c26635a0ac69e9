import { z } from "zod";
import type { CheckKind, CheckResult, CheckServices, CheckValues } from "./check-kind.js";
import { natsOldLoginRefused, natsOldUserIdle, natsStreamHealth } from "./nats.js";
import { postgresLogin, postgresOldPasswordRefused, postgresOldSessionsGone } from "./postgres.js";
import { telegramOldTokenRevoked, telegramSameBot, telegramTestAlert } from "./telegram.js";
import type { Rotation } from "../model/rotation.js";

/** Every built-in check's runbook schema. Adding a check: its file, then one line here and one in CHECKS. */
export const builtinCheckSchema = z.discriminatedUnion("builtin", [
  postgresLogin.schema,
  postgresOldSessionsGone.schema,
  postgresOldPasswordRefused.schema,
  telegramSameBot.schema,
  telegramTestAlert.schema,
  telegramOldTokenRevoked.schema,
  natsStreamHealth.schema,
  natsOldUserIdle.schema,
  natsOldLoginRefused.schema,
]);
export type BuiltinCheck = z.output<typeof builtinCheckSchema>;

/** A check named in the schema but missing here fails type-check. */
const CHECKS: { [K in BuiltinCheck["builtin"]]: CheckKind<Extract<BuiltinCheck, { builtin: K }>> } = {
  postgres_login: postgresLogin,
  postgres_old_sessions_gone: postgresOldSessionsGone,
  postgres_old_password_refused: postgresOldPasswordRefused,
  telegram_same_bot: telegramSameBot,
  telegram_test_alert: telegramTestAlert,
  telegram_old_token_revoked: telegramOldTokenRevoked,
  nats_stream_health: natsStreamHealth,
  nats_old_user_idle: natsOldUserIdle,
  nats_old_login_refused: natsOldLoginRefused,
};

const kindOf = <C extends BuiltinCheck>(check: C) => CHECKS[check.builtin] as unknown as CheckKind<C>;

/** How the plan shows a check. */
export function describeCheck(check: BuiltinCheck): string {
  return kindOf(check).describe(check);
}

/** Runs a built-in check against its service. */
export function runCheck(
  check: BuiltinCheck,
  values: CheckValues,
  rotation: Readonly<Rotation>,
  services: CheckServices,
  env: Readonly<Record<string, string>> = {},
): Promise<CheckResult> {
  return kindOf(check).run(check, values, rotation, services, env);
}
