import { z } from "zod";
import { text } from "../schema/fields.js";
import { defineCheck } from "./check-kind.js";

/** getMe with the old and the new token returns the same bot. */
export const telegramSameBot = defineCheck(z.object({ builtin: z.literal("telegram_same_bot") }).strict(), {
  describe: () => "getMe: the new token belongs to the same bot",
  async run(_check, values, _rotation, { telegram }) {
    if (values.current === undefined || values.newValue === undefined || values.promoted) return { missing: "new" };
    return telegram.sameBot(values.current, values.newValue);
  },
});

/**
 * A test alert sent with the new token reaches the chat where the team's alerts go: `chat_id` (a
 * chat id, or a public channel's @username, as the Bot API's sendMessage takes it), else OPS_CHAT_ID.
 */
export const telegramTestAlert = defineCheck(
  z
    .object({
      builtin: z.literal("telegram_test_alert"),
      text,
      chat_id: z
        .union([
          z.number().int(),
          z.string().regex(/^@[A-Za-z][A-Za-z0-9_]{4,31}$/, "a chat id (a number), or a public channel's @username"),
        ])
        .optional(),
    })
    .strict(),
  {
    describe: (check) => `send a test alert with the new token to ${check.chat_id ?? "OPS_CHAT_ID"}`,
    async run(check, values, _rotation, { telegram }) {
      return values.newValue === undefined
        ? { missing: "new" }
        : telegram.testAlert(values.newValue, check.text, check.chat_id);
    },
  },
);

/** The old token answers 401. */
export const telegramOldTokenRevoked = defineCheck(
  z.object({ builtin: z.literal("telegram_old_token_revoked") }).strict(),
  {
    describe: () => "the old token answers 401",
    async run(_check, values, _rotation, { telegram }) {
      return values.current === undefined || values.promoted
        ? { missing: "old" }
        : telegram.oldTokenRevoked(values.current);
    },
  },
);
