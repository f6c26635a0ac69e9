import { z } from "zod";
import { whichValue } from "../schema/fields.js";
import type { Rotation } from "../model/rotation.js";
import { defineCheck } from "./check-kind.js";

/** Where a PostgreSQL role lives; host and port default to PGHOST/PGPORT, then localhost:5432. */
export const postgresTarget = {
  role: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  database: z.string().min(1),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
};

/** Logs in as the role with the new (or current) password. */
export const postgresLogin = defineCheck(
  z.object({ builtin: z.literal("postgres_login"), ...postgresTarget, use: whichValue }).strict(),
  {
    describe: (check) => `log in to ${check.database} as ${check.role} with the ${check.use} password`,
    async run(check, values, _rotation, { postgres }, env) {
      const password = check.use === "new" ? values.newValue : values.current;
      return password === undefined
        ? { missing: check.use === "new" ? "new" : "old" }
        : postgres.login(check, password, env);
    },
  },
);

/** The password change in the check's environment (the first one, when the check runs once). */
function changeOf(rotation: Readonly<Rotation>, env: Readonly<Record<string, string>>) {
  const changes = rotation.steps.filter((s) => s.kind === "postgres_set_password" && s.state === "done");
  return changes.find((s) => s.environment === undefined || env.ROTABOT_ENVIRONMENT === s.environment) ?? changes[0];
}

/**
 * The old password is refused and no session opened with it is left: what ends the exposure
 * window of a leaked database password (a session keeps its login after the password changes).
 */
export const postgresOldPasswordRefused = defineCheck(
  z.object({ builtin: z.literal("postgres_old_password_refused"), ...postgresTarget }).strict(),
  {
    describe: (check) =>
      `a login to ${check.database} as ${check.role} with the old password is refused, and no session from before the change is left`,
    async run(check, values, rotation, { postgres }, env) {
      const changed = changeOf(rotation, env);
      if (values.promoted || values.current === undefined) return { missing: "old" };
      if (values.newValue === undefined || changed?.endedAt === undefined) return { missing: "new" };
      return postgres.oldPasswordRefused(check, values.current, values.newValue, changed.endedAt, env);
    },
  },
);

/** No session of the role opened before the password change is left (`wait_drain`). */
export const postgresOldSessionsGone = defineCheck(
  z.object({ builtin: z.literal("postgres_old_sessions_gone"), ...postgresTarget }).strict(),
  {
    describe: (check) => `no ${check.role} session from before the password change is left`,
    async run(check, values, rotation, { postgres }, env) {
      const changed = changeOf(rotation, env);
      if (values.newValue === undefined || changed?.endedAt === undefined) return { missing: "new" };
      return postgres.oldSessionsGone(check, values.newValue, changed.endedAt, env);
    },
  },
);
