import { describe, expect, it } from "vitest";
import { credentialIn } from "../../../src/bot/rotation/looks-like-credential.js";

describe("what a private message with no request open is taken for", () => {
  it("a bot token or a long random-looking string anywhere in the message is a credential", () => {
    const random = "a long random-looking string (a token or password)";
    expect(credentialIn("new one: 5550001234:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq")).toBe("a bot token");
    expect(credentialIn("the db password is qZ7rT2mWx9LpA4vBn8KcY3hJ please rotate")).toBe(random);
    expect(credentialIn("https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42")).toBe(random);
    expect(credentialIn("PTbobsNewToken0123456789abcdef")).toBe(random);
    expect(credentialIn("OldPostgresPassword0123456789ab")).toBe(random);
  });

  it("ordinary words, names, links and rotation ids are not", () => {
    for (const text of [
      "hello, how do I rotate the nats password?",
      "vault_postgres_app_password_new",
      "ansible-playbook-deploy-notifications-2024",
      "https://github.com/grammyjs/grammY/issues/123",
      "status of 20260101-0930-ab12",
    ])
      expect(credentialIn(text), text).toBeUndefined();
  });
});
