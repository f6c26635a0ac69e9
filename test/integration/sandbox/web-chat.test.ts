import { Api, InputFile } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SANDBOX_IDS } from "../../../src/sandbox/start-staging-box.js";
import { startPackageRepository } from "../../../src/sandbox/stand-ins/package-repository.js";
import { startSentryIngest } from "../../../src/sandbox/stand-ins/sentry-ingest.js";
import { startFakeBotApi } from "../../../src/sandbox/telegram/fake-bot-api.js";
import { startWebChat } from "../../../src/sandbox/web-chat/create-web-chat.js";

let close: (() => Promise<unknown>)[] = [];
let url: string;
let api: Api;
beforeAll(async () => {
  const telegram = await startFakeBotApi();
  const repository = await startPackageRepository();
  const sentry = await startSentryIngest();
  const chat = await startWebChat({ box: { telegram, repository, sentry }, port: 0 });
  close = [() => chat.close(), () => sentry.close(), () => repository.close(), () => telegram.close()];
  url = chat.url;
  const { token } = telegram.addBot({ id: SANDBOX_IDS.rotabot, username: "akira_rotabot" });
  // The page shows BotFather's token of the notification bot, as the sandbox has one.
  telegram.addBot({ id: SANDBOX_IDS.notifyBot, username: "akira_alerts_bot" });
  telegram.addUser({ id: SANDBOX_IDS.alice, first_name: "Alice" });
  telegram.addGroup({
    id: SANDBOX_IDS.opsChat,
    title: "Akira Ops",
    members: [SANDBOX_IDS.alice],
    bots: [SANDBOX_IDS.rotabot],
    adminBots: [SANDBOX_IDS.rotabot],
  });
  api = new Api(token, { apiRoot: telegram.url });
});
afterAll(async () => {
  for (const stop of close) await stop();
});

interface View {
  id: number;
  text: string;
  document?: { name: string; url: string };
}

describe("the sandbox's web chat", () => {
  it("opens a document a message carries (a failed step's log) as text in the browser", async () => {
    const log = 'TASK [check]\nfatal: [localhost]: FAILED! => {"msg": "Status code was 401"}\n';
    await api.sendDocument(SANDBOX_IDS.opsChat, new InputFile(Buffer.from(log), "20261207-1200-ab12-verify.log"), {
      caption: "Full output of “Verify” (redacted)",
    });
    const state = (await (await fetch(`${url}/api/state`)).json()) as { chats: { id: number; messages: View[] }[] };
    const ops = state.chats.find((c) => c.id === SANDBOX_IDS.opsChat)!;
    const shown = ops.messages.find((m) => m.document)!;
    expect(shown).toMatchObject({
      text: "Full output of “Verify” (redacted)",
      document: { name: "20261207-1200-ab12-verify.log", url: `/api/document/${SANDBOX_IDS.opsChat}/${shown.id}` },
    });
    const opened = await fetch(`${url}${shown.document!.url}`);
    expect(opened.status).toBe(200);
    expect(opened.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(opened.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await opened.text()).toBe(log);
    // Only documents of the chats the page shows, and only those that exist.
    expect((await fetch(`${url}/api/document/${SANDBOX_IDS.opsChat}/999`)).status).toBe(404);
    expect((await fetch(`${url}/api/document/-42/1`)).status).toBe(404);
  });
});
