import { z } from "zod";
import { whichValue } from "../schema/fields.js";
import { defineCheck } from "./check-kind.js";

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
