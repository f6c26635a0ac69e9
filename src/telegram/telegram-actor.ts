import type { User } from "grammy/types";
import type { Actor } from "../model/rotation.js";

/** The engine's view of a Telegram user: `tg:<id>` and a readable name. */
export function telegramActor(user: User): Actor {
  return {
    id: `tg:${user.id}`,
    name: user.username ? `@${user.username}` : [user.first_name, user.last_name].filter(Boolean).join(" "),
  };
}
