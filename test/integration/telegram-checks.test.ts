import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelegramChecks } from "../../src/services/telegram-bot.js";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";

const AUDIT = -1001000000002;
let tg: FakeBotApi;
beforeAll(async () => {
  tg = await startFakeBotApi();
});
afterAll(() => tg.close());

describe("Telegram built-ins against the fake Bot API", () => {
  it("checks same bot, sends the test alert with the new token, and sees the old token revoked", async () => {
    const { id, token: oldToken } = tg.addBot({ id: 8001, username: "akira_alerts_bot" });
    const other = tg.addBot({ id: 8002, username: "someone_elses_bot" });
    tg.addGroup({ id: AUDIT, title: "Audit", type: "channel", members: [], bots: [id] });
    const newToken = tg.issueToken(id);
    const checks = createTelegramChecks({ apiRoot: tg.url, alertChatId: AUDIT });

    expect(await checks.sameBot(oldToken, newToken)).toEqual({
      ok: true,
      note: "the new token belongs to the same bot @akira_alerts_bot",
    });
    expect(await checks.sameBot(oldToken, other.token)).toMatchObject({
      ok: false,
      message: "the new token belongs to @someone_elses_bot, not to @akira_alerts_bot; paste the token of the same bot",
    });
    expect(await checks.testAlert(newToken, "Test alert from rotabot")).toMatchObject({ ok: true });
    expect(tg.messages(AUDIT).map((m) => m.message.text)).toEqual(["Test alert from rotabot"]);
    expect(await checks.oldTokenRevoked(oldToken)).toMatchObject({
      ok: false,
      message: expect.stringContaining("revoke it in @BotFather") as string,
    });
    tg.revokeToken(oldToken);
    expect(await checks.oldTokenRevoked(oldToken)).toEqual({ ok: true, note: "the old token answers 401" });
    expect(await checks.sameBot(oldToken, newToken)).toMatchObject({ ok: false });
  });

  it("explains an unreachable API", async () => {
    const checks = createTelegramChecks({ apiRoot: "http://127.0.0.1:9", alertChatId: AUDIT });
    expect(await checks.testAlert("1:x", "hi")).toMatchObject({
      ok: false,
      message: expect.stringContaining("check TELEGRAM_API_ROOT") as string,
    });
  });
});
