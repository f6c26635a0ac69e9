import { z } from "zod";
import { whichValue } from "../schema/fields.js";
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

/** No session of the role opened before the password change is left (`wait_drain`). */
export const postgresOldSessionsGone = defineCheck(
  z.object({ builtin: z.literal("postgres_old_sessions_gone"), ...postgresTarget }).strict(),
  {
    describe: (check) => `no ${check.role} session from before the password change is left`,
    async run(check, values, rotation, { postgres }, env) {
      // The password change in the same environment (the first one, when the check runs once).
      const changes = rotation.steps.filter((s) => s.kind === "postgres_set_password" && s.state === "done");
      const changed =
        changes.find((s) => s.environment === undefined || env.ROTABOT_ENVIRONMENT === s.environment) ?? changes[0];
      if (values.newValue === undefined || changed?.endedAt === undefined) return { missing: "new" };
      return postgres.oldSessionsGone(check, values.newValue, changed.endedAt, env);
    },
  },
);
