import { z } from "zod";
import { whichValue } from "../schema/fields.js";
import { describeClient, natsUserFor } from "../services/nats.js";
import { defineCheck, type CheckValues } from "./check-kind.js";

/** `nats stream info` and `nats consumer info`, logged in with the new (or current) credential. */
export const natsStreamHealth = defineCheck(
  z
    .object({
      builtin: z.literal("nats_stream_health"),
      stream: z.string().min(1),
      consumer: z.string().min(1),
      server: z.string().min(1).optional(),
      user: z.string().min(1).optional(),
      use: whichValue,
    })
    .strict(),
  {
    describe: (check) => `nats stream info ${check.stream} / nats consumer info ${check.stream} ${check.consumer}`,
    async run(check, values, _rotation, { nats }, env) {
      const password = check.use === "new" ? values.newValue : values.current;
      return password === undefined
        ? { missing: check.use === "new" ? "new" : "old" }
        : nats.streamHealth(check, password, env);
    },
  },
);

/**
 * The users the old password logs in as: its own (`user` with `{password_sha256_8}`) and the
 * plain users every client shared before the per-password scheme (docs/runbook.md, "Moving to
 * the per-password NATS users"), which the config lists for that password only.
 */
const oldUsers = {
  user: z.string().min(1).default("akira-{password_sha256_8}"),
  plain_users: z.array(z.string().min(1)).default([]),
};
const usersOf = (check: { user: string; plain_users: string[] }, values: CheckValues) =>
  values.current === undefined || values.promoted
    ? undefined
    : [...new Set([natsUserFor(check.user, values.current), ...check.plain_users])];

/**
 * Before the old user is dropped: nobody is still logged in as it (`/connz?auth=true`). Dropping a
 * user closes its connections at the reload (nats-server 2.9.10, checked here), so a client that
 * was not re-deployed would be cut off: it is named, and the step waits (Retry, Mark done, Abort).
 */
export const natsOldUserIdle = defineCheck(
  z.object({ builtin: z.literal("nats_old_user_idle"), ...oldUsers }).strict(),
  {
    describe: (check) =>
      `/connz?auth=true: no client logged in as the old user${check.plain_users.length > 0 ? ` (or ${check.plain_users.join(", ")})` : ""}`,
    async run(check, values, _rotation, { nats }, env) {
      const users = usersOf(check, values);
      if (users === undefined) return { missing: "old" };
      const listed = await nats.clientsOn(users, env);
      if (!listed.ok) return listed;
      if (listed.clients.length === 0) return { ok: true, note: `no client is logged in as ${users.join(" or ")}` };
      const n = listed.clients.length;
      return {
        ok: false,
        message: `${n} client${n === 1 ? " is" : "s are"} still logged in as the old user (${users.join(" or ")}): ${listed.clients.map(describeClient).join("; ")}. Dropping the old user closes ${n === 1 ? "its connection" : "their connections"}: re-deploy ${n === 1 ? "it" : "them"} with the new credential (or stop ${n === 1 ? "it" : "them"}), then Retry; Mark done only if ${n === 1 ? "it" : "they"} may be cut off`,
      };
    },
  },
);

/** After the drop and the reload: the old password no longer logs in, as any of the old users. */
export const natsOldLoginRefused = defineCheck(
  z.object({ builtin: z.literal("nats_old_login_refused"), ...oldUsers }).strict(),
  {
    describe: () => "a login with the old password is refused",
    async run(check, values, _rotation, { nats }, env) {
      const users = usersOf(check, values);
      if (users === undefined) return { missing: "old" };
      return nats.loginRefused(users, values.current!, env);
    },
  },
);
