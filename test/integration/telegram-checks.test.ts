import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelegramChecks } from "../../src/services/telegram-bot.js";
import { startFakeBotApi, type FakeBotApi } from "../../src/sandbox/telegram/fake-bot-api.js";

const OPS = -1001000000001;
const ALERTS = -1001000000003;
let tg: FakeBotApi;
beforeAll(async () => {
  tg = await startFakeBotApi();
});
afterAll(() => tg.close());

describe("Telegram built-ins against the fake Bot API (one valid token per bot)", () => {
  it("checks the same bot without calling the revoked token, sends the test alert, and sees the old token dead", async () => {
    const { id, token: oldToken } = tg.addBot({ id: 8001, username: "akira_alerts_bot" });
    const other = tg.addBot({ id: 8002, username: "someone_elses_bot" });
    tg.addGroup({ id: OPS, title: "Ops", members: [], bots: [id] });
    tg.addGroup({ id: ALERTS, title: "Alerts", type: "channel", members: [], bots: [id] });
    const checks = createTelegramChecks({ apiRoot: tg.url, alertChatId: OPS });
    const newToken = tg.issueNewToken(id);
    const refusedBefore = tg.calls.filter((c) => c.status === 401).length;

    expect(await checks.sameBot(oldToken, newToken)).toEqual({
      ok: true,
      note: "the new token belongs to the same bot @akira_alerts_bot (id 8001)",
    });
    // The old token is dead from the moment BotFather issued the new one: sameBot never asks with it.
    expect(tg.calls.filter((c) => c.status === 401)).toHaveLength(refusedBefore);
    expect(await checks.sameBot(oldToken, other.token)).toEqual({
      ok: false,
      message:
        "the new token is for bot 8002, the current one for bot 8001; ask @BotFather for a new token of bot 8001 and paste that",
    });
    expect(await checks.sameBot(oldToken, "8001:NotTheTokenTelegramIssued_0123456789abc")).toMatchObject({
      ok: false,
      message: expect.stringContaining("the new token is refused by Telegram (401 Unauthorized)") as string,
    });
    expect(await checks.sameBot(oldToken, "not-a-token")).toMatchObject({ ok: false });

    // Without chat_id in the runbook the alert goes to the ops chat; with one, there.
    expect(await checks.testAlert(newToken, "Test alert from rotabot", undefined)).toEqual({
      ok: true,
      note: `test alert sent with the new token to the ops chat (${OPS})`,
    });
    expect(tg.messages(OPS).map((m) => m.message.text)).toEqual(["Test alert from rotabot"]);
    expect(await checks.testAlert(newToken, "Test alert to the alert channel", ALERTS)).toEqual({
      ok: true,
      note: `test alert sent with the new token to chat ${ALERTS}`,
    });
    expect(tg.messages(ALERTS).map((m) => m.message.text)).toEqual(["Test alert to the alert channel"]);
    expect(await checks.testAlert(newToken, "nowhere", -1009999999999)).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /^the test alert to chat -1009999999999 was refused \(\d+ .*\); add the notification bot to that chat \(or fix chat_id in the runbook\), then Retry$/,
      ) as string,
    });
    expect(await checks.oldTokenRevoked(oldToken)).toEqual({ ok: true, note: "the old token answers 401" });
    expect(await checks.oldTokenRevoked(newToken)).toMatchObject({
      ok: false,
      message: expect.stringContaining("the old token still works") as string,
    });
  });

  it("explains an unreachable API", async () => {
    const checks = createTelegramChecks({ apiRoot: "http://127.0.0.1:9", alertChatId: OPS });
    expect(await checks.testAlert("1:x", "hi", undefined)).toMatchObject({
      ok: false,
      message: expect.stringContaining("check TELEGRAM_API_ROOT") as string,
    });
  });
});
