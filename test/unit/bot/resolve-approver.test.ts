import { describe, expect, it } from "vitest";
import type { User } from "grammy/types";
import { createApproverResolver, splitApprover } from "../../../src/bot/rotation/resolve-approver.js";

describe("splitApprover", () => {
  it("takes a trailing `approver <who>` off the words, whatever comes before it", () => {
    expect(splitApprover(["approver", "@bob"])).toEqual({ ok: true, words: [], who: "@bob" });
    expect(splitApprover(["compromised", "PAT", "in", "#general", "since", "3h", "ago", "Approver", "102"])).toEqual({
      ok: true,
      words: ["compromised", "PAT", "in", "#general", "since", "3h", "ago"],
      who: "102",
    });
    // "approver" inside a reason, not in the last two words, is the reason's.
    expect(splitApprover(["incident", "approver", "said", "so"])).toEqual({
      ok: true,
      words: ["incident", "approver", "said", "so"],
      who: undefined,
    });
  });

  it("refuses an `approver` with no name, or a word that is no name, with the form", () => {
    for (const words of [["approver"], ["incident", "x", "approver", "bob"], ["approver", "@b-b"]])
      expect(splitApprover(words)).toMatchObject({
        ok: false,
        message:
          "“approver” needs one approver after it, as @username or a Telegram user id: for example approver @bob",
      });
  });
});

describe("createApproverResolver", () => {
  const users: Record<number, User> = {
    101: { id: 101, is_bot: false, first_name: "Alice", username: "alice" },
    102: { id: 102, is_bot: false, first_name: "Bob", username: "Bob_Ops" },
    103: { id: 103, is_bot: false, first_name: "Carol", last_name: "Ng" },
  };
  const resolver = (requireSecondApprover = true) =>
    createApproverResolver({
      approverIds: [101, 102, 103],
      requireSecondApprover,
      member: (id) => Promise.resolve(users[id]),
    });

  it("finds an approver by @username (any case) as Telegram knows them now, or by user id", async () => {
    expect(await resolver()("@bob_ops", 101)).toEqual({
      ok: true,
      approver: { id: "tg:102", name: "@Bob_Ops", username: "Bob_Ops" },
    });
    expect(await resolver()("103", 101)).toEqual({ ok: true, approver: { id: "tg:103", name: "Carol Ng" } });
  });

  it("refuses at once, with the fix: no such approver, the initiator, or no two-person rule", async () => {
    expect(await resolver()("@mallory", 101)).toMatchObject({
      ok: false,
      message:
        "@mallory is not an approver: name one of @alice, @Bob_Ops, Carol Ng (APPROVER_IDS), or ask an admin to add their user id to APPROVER_IDS and OPERATOR_IDS",
    });
    expect(await resolver()("@alice", 101)).toMatchObject({
      ok: false,
      message: "you cannot approve your own rotation: name another approver (@Bob_Ops, Carol Ng)",
    });
    expect(await resolver(false)("@bob_ops", 101)).toMatchObject({
      ok: false,
      message: expect.stringContaining("the two-person rule is off (REQUIRE_SECOND_APPROVER=false)") as string,
    });
  });
});
