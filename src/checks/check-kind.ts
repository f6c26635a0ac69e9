import type { z } from "zod";
import type { Rotation } from "../model/rotation.js";
import type { NatsChecks } from "../services/nats.js";
import type { PostgresChecks } from "../services/postgres.js";
import type { TelegramChecks } from "../services/telegram-bot.js";

export type CheckOutcome = { ok: true; note: string } | { ok: false; message: string };

/** The secret's values as a check sees them; never logged, never returned. */
export interface CheckValues {
  /** The canonical value: the old one until the promote step, the new one after. */
  current: string | undefined;
  /** `<key>_new`, until the promote step. */
  next: string | undefined;
  /** The value being rolled out: `next` before the promote step, `current` after. */
  newValue: string | undefined;
  promoted: boolean;
}

/** The services built-in checks talk to directly. */
export interface CheckServices {
  postgres: PostgresChecks;
  telegram: TelegramChecks;
  nats: NatsChecks;
}

/** A check that needs a value the vault does not have (yet, or any more) says which. */
export type CheckResult = CheckOutcome | { missing: "old" | "new" };

/** One built-in check: how the plan shows it, and how it runs (its schema sits beside it, see defineCheck). */
export interface CheckKind<C extends { builtin: string }> {
  describe(check: C): string;
  /** `env`: the rotation's environment's variables (PGHOST, NATS_URL, ...) for where the service is. */
  run(
    check: C,
    values: CheckValues,
    rotation: Readonly<Rotation>,
    services: CheckServices,
    env: Readonly<Record<string, string>>,
  ): Promise<CheckResult>;
}

/** Ties a check's schema to its behaviour; a check without `run` does not type-check. */
export function defineCheck<S extends z.ZodType<{ builtin: string }>>(
  schema: S,
  kind: CheckKind<z.output<S>>,
): CheckKind<z.output<S>> & { schema: S } {
  return { schema, ...kind };
}
