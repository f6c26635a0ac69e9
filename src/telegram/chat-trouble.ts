/** Why rotabot cannot write in one of its chats. */
export type ChatTrouble =
  | { kind: "migrated"; newId: number }
  | { kind: "removed"; telegramSays: string }
  | { kind: "no_rights"; telegramSays: string };

/** A chat rotabot is configured to write in, and the setting that names it. */
export interface WatchedChat {
  id: number;
  name: string;
  setting: string;
}

/**
 * Reads a failed Bot API reply (or a service message) as trouble with a chat, when it is one:
 * a group upgraded to a supergroup (400 with `parameters.migrate_to_chat_id`), a bot removed
 * from the chat (403 "bot was kicked", "bot is not a member", "the group chat was deleted") or
 * kept from writing (400 "not enough rights", "need administrator rights", "have no rights").
 */
export function classifyChatTrouble(reply: {
  error_code?: number;
  description?: string;
  parameters?: { migrate_to_chat_id?: number };
}): ChatTrouble | undefined {
  const newId = reply.parameters?.migrate_to_chat_id;
  if (newId !== undefined) return { kind: "migrated", newId };
  const says = reply.description ?? `error ${reply.error_code ?? "?"}`;
  if (reply.error_code === 403 && /kicked|not a member|chat was deleted/i.test(says))
    return { kind: "removed", telegramSays: says };
  if (reply.error_code === 400 && /not enough rights|need administrator rights|have no rights/i.test(says))
    return { kind: "no_rights", telegramSays: says };
  return undefined;
}

/** The error that names what is wrong with the chat and the setting or right that fixes it. */
export function describeChatTrouble(chat: WatchedChat, trouble: ChatTrouble): { problem: string; fix: string } {
  const where = `the ${chat.name} (${chat.setting}=${chat.id})`;
  switch (trouble.kind) {
    case "migrated":
      return {
        problem: `Telegram upgraded ${where} to a supergroup with the new id ${trouble.newId}, so rotabot can no longer write to the old id`,
        fix: `set ${chat.setting}=${trouble.newId} in rotabot's settings (.env or the unit's EnvironmentFile) and restart rotabot (systemctl restart rotabot)`,
      };
    case "removed":
      return {
        problem: `rotabot is not in ${where} any more: Telegram answers “${trouble.telegramSays}”`,
        fix: `add the bot to that chat again and make it an administrator with “Delete messages” (docs/deploy.md, step 2); it works again without a restart`,
      };
    case "no_rights":
      return {
        problem: `rotabot may not write in ${where}: Telegram answers “${trouble.telegramSays}”`,
        fix: `make the bot an administrator there with the right to post and “Delete messages” (docs/deploy.md, step 2), or let members send messages`,
      };
  }
}

/** What getChatMember and getMe tell of the bot in the ops chat (the fields rotabot reads). */
export interface OpsChatMember {
  /** The chat's type: a basic group's administrators may delete any message, a supergroup's need the right. */
  chatType: string | undefined;
  status: string | undefined;
  can_delete_messages?: boolean;
  /** getMe: true when privacy mode is off (BotFather /setprivacy). */
  canReadAllGroupMessages: boolean;
}

/**
 * Whether rotabot can guard the ops chat against a pasted secret: it must see plain messages
 * (administrator, or privacy mode off) and delete them (administrator, in a supergroup with
 * "Delete messages"). When it cannot, what is lost, plainly, and how to fix it.
 */
export function assessOpsChatRights(
  member: OpsChatMember,
  botName: string,
): { ok: true; detail: string } | { ok: false; lost: string; fix: string } {
  const admin = member.status === "administrator" || member.status === "creator";
  const deletes = admin && (member.chatType === "group" || member.can_delete_messages === true);
  const sees = admin || member.canReadAllGroupMessages;
  const fix = `make ${botName} an administrator of the ops group with the right “Delete messages” (docs/deploy.md, step 2)`;
  if (sees && deletes)
    return { ok: true, detail: "administrator with “Delete messages”: a secret pasted there is seen and deleted" };
  if (!sees)
    return {
      ok: false,
      lost: `${botName} is not an administrator of the ops chat and Telegram's privacy mode is on, so it receives only commands, replies to it and mentions: a secret pasted there as a plain message is neither seen nor deleted, and nobody is told`,
      fix,
    };
  return {
    ok: false,
    lost: `${botName} sees the ops chat's messages but may not delete them (${admin ? "an administrator without “Delete messages”" : "not an administrator; privacy mode is off"}): a secret pasted there stays in the chat's history until someone deletes it by hand (rotabot says so when it sees one)`,
    fix,
  };
}
