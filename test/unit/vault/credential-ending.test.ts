import { describe, expect, it } from "vitest";
import { credentialEnding } from "../../../src/vault/credential-ending.js";

describe("the ending a card names a credential by", () => {
  it("is a token's or password's last 4 characters", () => {
    expect(credentialEnding("123456789:AAexampleTokenThatEndsIn_dFeC")).toBe("dFeC");
    expect(credentialEnding("OldPostgresPassword0123456789ab")).toBe("89ab");
  });

  it("is the end of a DSN's key, never of its project id (the same for every key: 'both end in …4507' named nothing)", () => {
    const first = "https://0123456789abcdef0123456789ab119e@o1.ingest.sentry.io/4507";
    const second = "http://fedcba9876543210fedcba9876548914@127.0.0.1:9000/4507";
    expect([credentialEnding(first), credentialEnding(second)]).toEqual(["119e", "8914"]);
    // The old form with a secret key: still the public key, which Sentry lists.
    expect(credentialEnding("https://abcdef0123456789abcdef012345aaaa:secret0123@sentry.example.com/42")).toBe("aaaa");
  });
});
