import type { User } from "grammy/types";
import type { Actor } from "../../model/rotation.js";
import { fail, type Result } from "../../result.js";
import { telegramActor } from "../../telegram/telegram-actor.js";
import { clip } from "../../telegram/user-text.js";

/** How an approver is named in `/rotate … approver <who>`: `@username`, or a Telegram user id. */
const WHO = /^(@[A-Za-z][A-Za-z0-9_]{0,31}|\d{1,20})$/;

/**
 * Splits a trailing `approver <who>` off the words after the secret's name; `who` is undefined
 * when there is none. A trailing `approver` with nothing (or no name) after it is refused, with the form.
 */
export function splitApprover(
  words: readonly string[],
): Result<{ words: string[]; who: string | undefined }, "invalid"> {
  const at = words.findLastIndex((w) => w.toLowerCase() === "approver");
  if (at < 0 || at < words.length - 2) return { ok: true, words: [...words], who: undefined };
  const who = words[at + 1];
  if (who === undefined || !WHO.test(who))
    return fail(
      "invalid",
      `“approver” needs one approver after it, as @username or a Telegram user id: for example approver @bob`,
    );
  return { ok: true, words: words.slice(0, at), who };
}

export interface ApproverResolverDeps {
  /** Users whose press may approve a destructive step (APPROVER_IDS). */
  approverIds: readonly number[];
  requireSecondApprover: boolean;
  /** The user as the ops chat knows them (getChatMember); undefined when Telegram does not say. */
  member(userId: number): Promise<User | undefined>;
}

/** Who may be asked to approve a rotation by name, and the fix when the name is none of them. */
export type ApproverResolver = (who: string, initiatorId: number) => Promise<Result<{ approver: Actor }, "invalid">>;

/**
 * Resolves the `who` of `approver <who>` to one of APPROVER_IDS: a user id as it is, a `@username`
 * by asking Telegram who each approver is now (a username can change; rotabot keeps none). Refused
 * at once, with the fix, when the two-person rule is off, the name is no approver, or it is the initiator.
 */
export function createApproverResolver(deps: ApproverResolverDeps): ApproverResolver {
  return async (who, initiatorId) => {
    if (!deps.requireSecondApprover)
      return fail(
        "invalid",
        "the two-person rule is off (REQUIRE_SECOND_APPROVER=false), so nobody approves: leave out “approver …”, or turn the rule on (docs/operating.md)",
      );
    const approvers = await Promise.all(
      deps.approverIds.map(async (id) => ({ id, user: await deps.member(id).catch(() => undefined) })),
    );
    const names = approvers.map((a) => (a.user ? telegramActor(a.user).name : String(a.id)));
    const wanted = who.startsWith("@") ? who.slice(1).toLowerCase() : undefined;
    const found = approvers.find((a) =>
      wanted === undefined ? String(a.id) === who : a.user?.username?.toLowerCase() === wanted,
    );
    if (!found)
      return fail(
        "invalid",
        `${clip(who)} is not an approver: name one of ${names.join(", ")} (APPROVER_IDS), or ask an admin to add their user id to APPROVER_IDS and OPERATOR_IDS`,
      );
    if (found.id === initiatorId)
      return fail(
        "invalid",
        `you cannot approve your own rotation: name another approver (${names.filter((_, i) => approvers[i]!.id !== initiatorId).join(", ") || "APPROVER_IDS lists only you"})`,
      );
    const user = found.user;
    return {
      ok: true,
      approver: user
        ? { ...telegramActor(user), ...(user.username ? { username: user.username } : {}) }
        : { id: `tg:${found.id}`, name: String(found.id) },
    };
  };
}
