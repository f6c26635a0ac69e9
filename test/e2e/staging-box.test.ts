import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import path from "node:path";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it as test } from "vitest";
import { createNatsChecks, natsUserFor } from "../../src/services/nats.js";
import { loadRunbook } from "../../src/runbook/load-runbook.js";
import { SANDBOX_IDS, startStagingBox, type StagingBox } from "../../src/sandbox/start-staging-box.js";
import type { StoredMessage } from "../../src/sandbox/telegram/fake-bot-api.js";
import { buttonsOf, textOf, walkRotation, type WalkOptions } from "../support/chat-driver.js";
import { PROJECT_ROOT, SHIPPED_RUNBOOK } from "../support/paths.js";
import { pgLogin as pgLoginAt } from "../support/postgres-login.js";
import { leaks } from "../support/rotation-fixture.js";
import { runRotabot, spawnBot, type BotProcess } from "../support/run-rotabot.js";
import { decryptVault } from "../support/vault-fixture.js";

const { rotabot: BOT, notifyBot: NOTIFY_BOT, opsChat: OPS, auditChat: AUDIT, alice: ALICE } = SANDBOX_IDS;
const today = new Date().toISOString().slice(0, 10);
const NATS_USER = "akira-{password_sha256_8}";

let box: StagingBox;
let bot: BotProcess;
const secrets: string[] = [];

/** Walks a rotation, confirming everything, until a step fails; returns the failure prompt. */
async function walkUntilFailure(command: string): Promise<StoredMessage> {
  let failed: StoredMessage | undefined;
  // The walk keeps waiting for more prompts and gives up on its own after the abort; nothing to await.
  walk(command, {
    promptTimeoutMs: 20_000,
    onPrompt: (prompt) => (/ failed/.test(textOf(prompt)) ? ((failed = prompt), false) : undefined),
  }).catch(() => undefined);
  await expect.poll(() => failed, { timeout: 120_000, interval: 250 }).toBeDefined();
  return failed!;
}

/** Walks a rotation until a prompt matches `pattern`; returns that prompt, unanswered. */
async function walkUntil(command: string, pattern: RegExp, extra: Partial<WalkOptions> = {}): Promise<StoredMessage> {
  let found: StoredMessage | undefined;
  // Real playbooks between two prompts: on a loaded machine several minutes.
  walk(command, {
    promptTimeoutMs: 300_000,
    ...extra,
    onPrompt: (prompt) => (pattern.test(textOf(prompt)) ? ((found = prompt), false) : undefined),
  }).catch(() => undefined);
  await expect.poll(() => found, { timeout: 600_000, interval: 250 }).toBeDefined();
  return found!;
}
const pressOn = (prompt: StoredMessage, action: string) =>
  box.telegram.pressButton({
    from: ALICE,
    chat: prompt.message.chat.id,
    messageId: prompt.message.message_id,
    data: buttonsOf(prompt).find((b) => b.endsWith(`|${action}`))!,
  });
/** The ops chat's end of an abort, after message `after` (the rotations of this file run one at a time). */
const opsAborted = (after: number, timeoutMs = 120_000) =>
  box.telegram.waitForMessage(
    (m) =>
      m.botId === BOT &&
      m.message.chat.id === OPS &&
      m.message.message_id > after &&
      textOf(m).startsWith("⏹ aborted by"),
    timeoutMs,
  );

const walk = (command: string, extra: Partial<WalkOptions> = {}) =>
  walkRotation(command, {
    tg: box.telegram,
    botId: BOT,
    opsChat: OPS,
    operator: ALICE,
    promptTimeoutMs: 150_000,
    ...extra,
  });
/** The audit line of the abort of the rotation whose card `prompt` is (earlier rotations were aborted too). */
const abortedInAudit = (prompt: StoredMessage, timeoutMs: number) => {
  const id = buttonsOf(prompt)[0]!.split("|")[1]!;
  return box.telegram.waitForMessage(
    (m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${id}] ⏹ aborted by`),
    timeoutMs,
  );
};
/**
 * `it`, with each test body run at most once: the recap of refused credentials and the leak scan
 * run the rotation tests ("rotates …") that have not run yet, so either passes alone (`-t`) with
 * every secret rotated (hence their 15 minutes), and in the whole file reuses what those did.
 */
const bodies = new Map<string, () => Promise<void>>();
function it(name: string, body: () => unknown, timeout?: number): void {
  let run: Promise<void> | undefined;
  const once = () => (run ??= Promise.resolve(body()).then(() => undefined));
  bodies.set(name, once);
  test(name, once, timeout);
}
const rotateEverySecret = async () => {
  for (const [name, run] of bodies) if (name.startsWith("rotates ")) await run();
};

const vaultPlain = () => decryptVault(path.join(box.infraDir, "infra/group_vars/all/vault.yml"), box.passwordFile);
const vaultValue = (key: string) => new RegExp(`^${key}: "([^"]+)"$`, "m").exec(vaultPlain())?.[1];
const journal = (id: string) =>
  JSON.parse(readFileSync(path.join(box.rotabotEnv.STATE_DIR!, "rotations", `${id}.json`), "utf8")) as {
    state: string;
    steps: { id: string; state: string; attempts: number }[];
  };

/** What the seed's completion checklist promises, for every rotation. */
async function expectRotated(rotationId: string, key: string, owner: string, expected?: string): Promise<string> {
  const plain = vaultPlain();
  expect(plain).not.toContain(`${key}_new`);
  const value = vaultValue(key)!;
  if (expected !== undefined) expect(value).toBe(expected);
  expect(value).not.toBe(box.secrets[key as keyof StagingBox["secrets"]]);
  secrets.push(value);
  const manifest = readFileSync(path.join(box.infraDir, "infra/group_vars/all/_secrets_manifest.yml"), "utf8");
  expect(manifest).toMatch(new RegExp(`  ${key}:\\n(    .*\\n)*?    last_rotation: ${today}\\n`));
  expect(readFileSync(path.join(box.infraDir, "CHANGELOG.md"), "utf8")).toContain(
    `rotated \`${key}\` (rotation ${rotationId}, by @alice)`,
  );
  expect(await box.git("log", "-1", "--format=%s")).toBe(`Rotate ${key}`);
  expect(await box.git("status", "--porcelain")).toBe("");
  expect(journal(rotationId).steps.find((s) => s.id === "smoke_test")).toMatchObject({ state: "done" });
  await box.telegram.waitForMessage(
    (m) => m.message.chat.id === AUDIT && textOf(m).includes(`[${rotationId}] 🏁 completed`),
    15_000,
  );
  expect(box.telegram.messages(AUDIT, BOT).map(textOf).join("\n")).toMatch(
    new RegExp(`\\[${rotationId}\\] 🏁 completed .*; ✉️ ${owner}: ${key} was rotated`),
  );
  return value;
}

const getMe = (token: string) =>
  fetch(`${box.telegram.url}/bot${token}/getMe`).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as { result?: { id: number } },
  }));
const repoStatus = (token: string) =>
  fetch(`${box.repository.url}/dists/bookworm/Release`, {
    headers: { Authorization: `Basic ${Buffer.from(`signalwire:${token}`).toString("base64")}` },
  }).then((r) => r.status);
const pgLogin = (password: string) => pgLoginAt(box.postgres, password);

beforeAll(async () => {
  box = await startStagingBox({ packageRoot: PROJECT_ROOT, env: process.env });
  secrets.push(...Object.values(box.secrets), box.rotabotEnv.BOT_TOKEN!, readFileSync(box.passwordFile, "utf8").trim());
  bot = spawnBot({ ...box.rotabotEnv, LOG_LEVEL: "debug" }, box.infraDir);
  await bot.ready();
}, 300_000);

afterAll(async () => {
  await bot?.stop();
  await box?.stop();
});

describe("staging in a box: the shipped runbook against real services", { timeout: 300_000 }, () => {
  it("opens with the daily digest it missed: what is overdue or due soon, each with a Rotate button", async () => {
    const digest = await box.telegram.waitForMessage(
      (m) => m.message.chat.id === OPS && textOf(m).startsWith("⏰ Daily secret check"),
      15_000,
    );
    expect(buttonsOf(digest)).toEqual([
      "due|vault_telegram_bot_token",
      "due|vault_billing_api_token",
      "due|vault_signalwire_token",
    ]);
  });

  it("passes rotabot doctor: every tool, playbook and file the shipped runbook names is there", async () => {
    const doctor = await runRotabot(["doctor", "--json"], box.rotabotEnv, box.infraDir);
    const checks = JSON.parse(doctor.stdout) as { check: string; status: string }[];
    expect(checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(checks.map((c) => c.check)).toEqual(
      expect.arrayContaining([
        "tool ansible-playbook",
        "file infra/playbooks/deploy_nats.yml",
        "file infra/playbooks/reload_nats.yml",
        "file infra/playbooks/smoketest.yml",
        "audit chat",
      ]),
    );
    expect(doctor.code).toBe(0);
  });

  it("rotates the Telegram bot token: outage confirmed, the operator's revoke kills the old one at once, deploy and test alert follow", async () => {
    const oldToken = box.secrets.vault_telegram_bot_token;
    let newToken = "";
    const seen: string[] = [];
    const { rotationId, prompts } = await walk("/rotate telegram", {
      onPrompt: (prompt) => void seen.push(textOf(prompt)),
      // The operator revokes in BotFather only at the card that asks for it, after the outage was confirmed.
      beforeDone: (prompt) => {
        expect(prompt).toContain("In @BotFather send /revoke");
        expect(seen.some((p) => p.includes("the notification bot is down"))).toBe(true);
        newToken = box.telegram.issueNewToken(NOTIFY_BOT);
        secrets.push(newToken);
      },
      token: () => newToken,
    });
    // The old token died when BotFather issued the new one: the rotation checked its 401, never revoked after.
    expect(prompts.filter((p) => /revoke the old token/i.test(p))).toEqual([]);
    await expectRotated(rotationId, "vault_telegram_bot_token", "@alerts-oncall", newToken);
    expect((await getMe(newToken)).body.result?.id).toBe(NOTIFY_BOT);
    expect((await getMe(oldToken)).status).toBe(401);
    expect(journal(rotationId).steps.find((s) => s.id === "old_token_dead")).toMatchObject({ state: "done" });
    // The test alert goes where the alerts go: the ops chat (no chat_id in the shipped runbook).
    expect(box.telegram.messages(OPS, NOTIFY_BOT).map(textOf)).toContain(
      "Test alert from rotabot: sent with the notification bot's new token.",
    );
    expect(readFileSync(path.join(box.servicesDir, "notifications/bot.env"), "utf8")).toBe(
      `TELEGRAM_BOT_TOKEN=${newToken}\n`,
    );
    expect(box.telegram.messages(OPS, BOT).map(textOf).join("\n")).toMatch(
      /⏱ the notification bot was down for \d+\.\d s \(measured from “Revoke the old token in @BotFather \(the outage starts\)” to the end of “Deploy the notification owner service”\)/,
    );
  });

  it("cancels Telegram truthfully after the outage is confirmed, until the operator says they revoked: the old token still works", async () => {
    const token = vaultValue("vault_telegram_bot_token")!;
    const revoke = await walkUntil("/rotate telegram", /In @BotFather send \/revoke/);
    const after = revoke.message.message_id;
    const id = buttonsOf(revoke)[0]!.split("|")[1]!;
    pressOn(revoke, "c");
    const aborted = await opsAborted(after);
    expect(textOf(aborted)).toBe(
      "⏹ aborted by @alice; nothing had changed: no new value was in the vault and no service was touched",
    );
    expect(journal(id).state).toBe("aborted");
    expect((await getMe(token)).status).toBe(200);
    expect(vaultValue("vault_telegram_bot_token")).toBe(token);
  });

  it("aborts SignalWire after the operator created the new PAT: it is named to revoke by its own ending, and is live until revoked", async () => {
    const pat = box.repository.createToken();
    secrets.push(pat);
    const revokeCard = await walkUntil("/rotate signalwire", /revoke the old token/, { token: () => pat });
    const swId = buttonsOf(revokeCard)[0]!.split("|")[1]!;
    pressOn(revokeCard, "c");
    const swAborted = await opsAborted(revokeCard.message.message_id);
    expect(textOf(swAborted)).toContain(
      `⚠️ Created for this rotation and still valid: revoke PAT …${pat.slice(-4)} in the SignalWire space (dashboard, Personal Access Tokens).`,
    );
    expect(journal(swId).state).toBe("aborted");
    // True: SignalWire still takes it, until the operator revokes it there.
    expect(await repoStatus(pat)).toBe(200);
    box.repository.revokeToken(pat);
    pressOn(swAborted, "x");
    await box.telegram.waitForMessage(
      (m) => m.message.message_id === swAborted.message.message_id && textOf(m).endsWith("✅ Revoked, says @alice."),
    );
  }, 900_000);

  it("aborts Sentry after the operator created the new DSN: its key is named to revoke by its own ending, not the project id", async () => {
    const dsn = box.sentry.createDsn();
    secrets.push(dsn);
    const key = /\/\/([0-9a-f]+)@/.exec(dsn)![1]!;
    const disableCard = await walkUntil("/rotate sentry", /disable or delete the old client key/, {
      token: () => dsn,
    });
    // The card names the keys by their own endings, not by the project id both DSNs end in.
    expect(textOf(disableCard)).toContain(`keep …${key.slice(-4)} (the new one)`);
    const sentryId = buttonsOf(disableCard)[0]!.split("|")[1]!;
    pressOn(disableCard, "c");
    const sentryAborted = await opsAborted(disableCard.message.message_id);
    expect(textOf(sentryAborted)).toContain(
      `⚠️ Created for this rotation and still valid: disable or delete client key …${key.slice(-4)} in Sentry (Project Settings, Client Keys).`,
    );
    expect(journal(sentryId).state).toBe("aborted");
    expect(box.sentry.activeKeys()).toContain(key);
    expect(textOf(sentryAborted)).toContain("every service is back on the old value");
    expect(readFileSync(path.join(box.servicesDir, "backend/sentry.env"), "utf8")).not.toContain(key);
    // The operator does what the message says, as the SignalWire test does, so Sentry holds the old key alone again.
    box.sentry.disableKey(key);
  }, 900_000);

  it("rotates the SignalWire PAT: the rename waits until the package repository refuses the old token", async () => {
    const oldToken = box.secrets.vault_signalwire_token;
    const pat = box.repository.createToken();
    secrets.push(pat);
    let refusedCheck = "";
    const { rotationId } = await walk("/rotate signalwire", {
      token: () => pat,
      // The operator presses Done without revoking: SignalWire still takes the old token.
      onPrompt: (prompt) => {
        if (!textOf(prompt).includes("Check that the package repository refuses the old token failed")) return;
        refusedCheck = textOf(prompt);
        expect(vaultValue("vault_signalwire_token")).toBe(oldToken);
        box.repository.revokeToken(oldToken);
        box.telegram.pressButton({
          from: ALICE,
          chat: prompt.message.chat.id,
          messageId: prompt.message.message_id,
          data: buttonsOf(prompt).find((b) => b.endsWith("|r"))!,
        });
        return false;
      },
    });
    expect(refusedCheck).not.toBe("");
    await expectRotated(rotationId, "vault_signalwire_token", "@voice-team", pat);
    expect(journal(rotationId).steps.find((s) => s.id === "old_token_refused")).toMatchObject({
      state: "done",
      attempts: 2,
    });
    expect(await repoStatus(pat)).toBe(200);
    expect(await repoStatus(oldToken)).toBe(401);
    expect(readFileSync(path.join(box.servicesDir, "freeswitch/auth.conf"), "utf8")).toContain(`password ${pat}`);
  });

  it("rotates the PostgreSQL app password: the apps reconnect with the new one, the old one is refused, the server log holds neither", async () => {
    const oldPassword = box.secrets.vault_postgres_app_password;
    const apps = () =>
      box.postgres
        .admin(
          "select application_name as app, backend_start as since from pg_stat_activity where usename = 'akira_app' and application_name like 'akira-%' order by 1",
        )
        .then((r) => r.rows as { app: string; since: Date }[]);
    expect((await apps()).map((a) => a.app)).toEqual(["akira-backend", "akira-cdr-worker", "akira-reports"]);
    const started = new Date();
    const { rotationId } = await walk("/rotate postgres");
    const newPassword = await expectRotated(rotationId, "vault_postgres_app_password", "@backend-team");
    expect(await pgLogin(newPassword)).toBe("akira_app");
    expect(await pgLogin(oldPassword)).toMatch(/^refused: password authentication failed/);
    expect(readFileSync(path.join(box.servicesDir, "backend/pgpass"), "utf8")).toContain(`:akira_app:${newPassword}`);
    // Each app was restarted by the redeploy and logged in with the new password; none holds an old session.
    const after = await apps();
    expect(after.map((a) => a.app)).toEqual(["akira-backend", "akira-cdr-worker", "akira-reports"]);
    for (const app of after) expect(app.since.getTime()).toBeGreaterThan(started.getTime());
    expect(journal(rotationId).steps.find((s) => s.id === "drain")).toMatchObject({ state: "done" });
    const serverLog = box.postgres.serverLog();
    expect(serverLog).toContain("ALTER ROLE");
    expect(leaks(serverLog, [oldPassword, newPassword])).toEqual([]);
  });

  // Issue 21, point 6: the box starts where a team that never rotated NATS is, every client on the
  // plain user akira; its first rotation moves them to akira-<hash>, and a client nobody re-deployed
  // is named before the old user is dropped.
  it("rotates the NATS password, moving the clients off the plain user: a client still on it is named before the drop, and the old password is refused after", async () => {
    const oldPassword = box.secrets.vault_nats_password;
    const clients = ["backend", "cdr-worker", "kamailio-cdr-bridge", "tools"];
    const natsEnv = (client: string) => readFileSync(path.join(box.servicesDir, client, "nats.env"), "utf8");
    for (const client of clients) expect(natsEnv(client), client).toContain("NATS_USER=akira\n");
    expect(readFileSync(box.nats.conf, "utf8")).toContain('user: "akira", password:');
    const forgotten = await connect({
      servers: box.nats.url,
      user: "akira",
      pass: oldPassword,
      name: "forgotten-reporter",
      reconnect: false,
    });
    let named: string | undefined;
    const { rotationId } = await walk("/rotate nats", {
      onPrompt: (prompt) => {
        if (!textOf(prompt).startsWith("Check that no client is still logged in as the old user failed")) return;
        named = textOf(prompt);
        // Nothing was dropped yet: the client is still connected. Stop it, then Retry.
        expect(forgotten.isClosed()).toBe(false);
        const nats = createNatsChecks({ NATS_MONITOR_URL: box.nats.monitorUrl });
        void (async () => {
          await forgotten.close();
          await expect
            .poll(async () => nats.clientsOn(["akira"]), { timeout: 10_000 })
            .toEqual({ ok: true, clients: [] });
          box.telegram.pressButton({
            from: ALICE,
            chat: prompt.message.chat.id,
            messageId: prompt.message.message_id,
            data: buttonsOf(prompt).find((b) => b.endsWith("|r"))!,
          });
        })();
        return false;
      },
    });
    expect(named).toMatch(
      /1 client is still logged in as the old user \(akira-[0-9a-f]{8} or akira\): forgotten-reporter \(127\.0\.0\.1:\d+, nats\.js [\d.]+, connected since [^)]+\)\. Dropping the old user closes its connection: re-deploy it with the new credential \(or stop it\), then Retry/,
    );
    expect(named).toContain("🔁 Retry runs it again.");
    const newPassword = await expectRotated(rotationId, "vault_nats_password", "@platform-team");
    const steps = journal(rotationId).steps;
    expect(steps.find((s) => s.id === "old_user_idle")).toMatchObject({ state: "done", attempts: 2 });
    expect(steps.find((s) => s.id === "old_refused")).toMatchObject({ state: "done" });
    const conf = readFileSync(box.nats.conf, "utf8");
    expect(conf).toContain(`user: "${natsUserFor(NATS_USER, newPassword)}"`);
    expect(conf).not.toContain(natsUserFor(NATS_USER, oldPassword));
    expect(conf).not.toContain('user: "akira"');
    for (const client of clients)
      expect(natsEnv(client), client).toContain(`NATS_USER=${natsUserFor(NATS_USER, newPassword)}\n`);
    await expect(
      connect({ servers: box.nats.url, user: "akira", pass: oldPassword, reconnect: false }),
    ).rejects.toThrow(/Authorization Violation/i);

    const nc = await connect({
      servers: box.nats.url,
      user: natsUserFor(NATS_USER, newPassword),
      pass: newPassword,
      reconnect: false,
    });
    try {
      const ack = await jetstream(nc).publish("cdr.after-rotation", "call 42");
      expect(ack.stream).toBe("AKIRA_CDR");
      const jsm = await jetstreamManager(nc);
      expect((await jsm.consumers.info("AKIRA_CDR", "cdr_worker")).config.ack_policy).toBe(AckPolicy.Explicit);
      const consumer = await jetstream(nc).consumers.get("AKIRA_CDR", "cdr_worker");
      const messages = await consumer.fetch({ max_messages: 10, expires: 2_000 });
      const seen: string[] = [];
      for await (const m of messages) {
        seen.push(m.string());
        m.ack();
      }
      expect(seen).toContain("call 42");
    } finally {
      await nc.close();
    }
    await expect(
      connect({
        servers: box.nats.url,
        user: natsUserFor(NATS_USER, oldPassword),
        pass: oldPassword,
        reconnect: false,
      }),
    ).rejects.toThrow(/Authorization Violation/i);
  });

  it("rotates the Sentry DSN: events with the new DSN arrive, the old DSN is refused", async () => {
    const dsn = box.sentry.createDsn();
    secrets.push(dsn);
    const refusedBefore = box.sentry.events.filter((e) => e.key === "refused").length;
    const old = box.secrets.vault_sentry_dsn;
    // Sentry keeps the old key working until it is disabled: the operator does that at the manual step.
    expect(box.sentry.activeKeys()).toHaveLength(2);
    const { rotationId } = await walk("/rotate sentry", {
      token: () => dsn,
      beforeDone: (prompt) => {
        expect(prompt).toMatch(/disable or delete the old client key/);
        box.sentry.disableKey(old);
      },
    });
    await expectRotated(rotationId, "vault_sentry_dsn", "@backend-team", dsn);
    // verify_sentry sent one event per service with the DSN each deployed; the smoke test did again.
    expect(
      box.sentry.events.filter((e) => e.key === "current" && e.message.startsWith("deploy check from")).length,
    ).toBeGreaterThanOrEqual(6);
    // The only refused event is the rotation's own check that the old DSN is refused.
    expect(box.sentry.events.filter((e) => e.key === "refused").length).toBe(refusedBefore + 1);
    expect(journal(rotationId).steps.find((s) => s.id === "old_dsn_refused")).toMatchObject({ state: "done" });
    const status = await fetch(`${box.sentry.url}/api/4507/store/`, {
      method: "POST",
      headers: { "X-Sentry-Auth": `Sentry sentry_key=${/\/\/([0-9a-f]+)@/.exec(old)![1]}` },
      body: "{}",
    }).then((r) => r.status);
    expect(status).toBe(403);
  });

  it("rotates an API token through the general rolling procedure, ending with the old token refused by the gateway", async () => {
    const old = box.secrets.vault_billing_api_token;
    expect(await box.apiGateway.status("vault_billing_api_token", old)).toBe(200);
    const { rotationId } = await walk("/rotate api-token");
    const token = await expectRotated(rotationId, "vault_billing_api_token", "@billing-team");
    expect(readFileSync(path.join(box.servicesDir, "api-clients/vault_billing_api_token.token"), "utf8")).toBe(
      `${token}\n`,
    );
    expect(journal(rotationId).steps.find((s) => s.id === "drop_old")).toMatchObject({ state: "done" });
    expect(await box.apiGateway.status("vault_billing_api_token", token)).toBe(200);
    expect(await box.apiGateway.status("vault_billing_api_token", old)).toBe(401);
  });

  it("aborts an API token rotation after the clients switched: clients and gateway back on the old token alone, the new one refused", async () => {
    const key = "vault_billing_api_token";
    const old = vaultValue(key)!;
    const before = vaultPlain();
    const clientFile = path.join(box.servicesDir, `api-clients/${key}.token`);
    let rename: StoredMessage | undefined;
    walk("/rotate api-token", {
      onPrompt: (prompt) =>
        /rename _new to the canonical name/.test(textOf(prompt)) ? ((rename = prompt), false) : undefined,
    }).catch(() => undefined);
    await expect.poll(() => rename, { timeout: 150_000, interval: 250 }).toBeDefined();
    // Every client is on the new token, which the gateway accepts alongside the old one.
    const abandoned = readFileSync(clientFile, "utf8").trim();
    secrets.push(abandoned);
    expect(abandoned).not.toBe(old);
    expect(await box.apiGateway.status(key, abandoned)).toBe(200);
    box.telegram.pressButton({
      from: ALICE,
      chat: OPS,
      messageId: rename!.message.message_id,
      data: buttonsOf(rename!).find((b) => b.endsWith("|c"))!,
    });
    const aborted = await abortedInAudit(rename!, 120_000);
    expect(textOf(aborted)).toContain("every service is back on the old value");
    expect(readFileSync(clientFile, "utf8")).toBe(`${old}\n`);
    expect(await box.apiGateway.status(key, old)).toBe(200);
    expect(await box.apiGateway.status(key, abandoned)).toBe(401);
    expect(vaultPlain()).toBe(before);
    expect(await box.git("status", "--porcelain")).toBe("");
  });

  it("stops on a playbook that fails midway; an abort whose rollback fails stays in flight, is listed by status, and is retried to success once repaired", async () => {
    const before = vaultPlain();
    const gateway = path.join(box.servicesDir, "api-gateway");
    renameSync(gateway, `${gateway}.away`); // the accept_both play cannot write the gateway's list
    let repaired = false;
    try {
      const failed = await walkUntilFailure("/rotate api-token");
      const id = buttonsOf(failed)[0]!.split("|")[1]!;
      expect(textOf(failed)).toContain("Update affected services so both old and new values are accepted failed");
      expect(
        buttonsOf(failed)
          .map((b) => b.slice(-1))
          .sort(),
      ).toEqual(["a", "m", "r"]);
      expect(vaultPlain()).toContain("vault_billing_api_token_new");
      pressOn(failed, "a");
      // The gateway's folder is gone, so putting the gateway back cannot work either: the rollback fails, and says so.
      const card = await box.telegram.waitForMessage(
        (m) =>
          m.message.message_id > failed.message.message_id &&
          textOf(m).includes(`The rollback of rotation ${id} failed`),
        120_000,
      );
      expect(textOf(card)).toContain(
        "✘ Put the clients back on the old token, then let the gateway accept it alone in staging failed: ",
      );
      expect(textOf(card)).toContain(
        `; by hand: ansible-playbook -i infra/inventory/staging.yml infra/playbooks/rotate_api_token.yml --vault-password-file ${box.passwordFile} --tags rollback -e secret_key=vault_billing_api_token (it renders vault_billing_api_token, the old value, once vault_billing_api_token_new is gone)`,
      );
      expect(journal(id).state).toBe("rollback_failed");
      // The shell's status lists it with each environment's state and the way out.
      const status = await runRotabot(["status"], box.rotabotEnv, box.infraDir);
      expect(status.stdout).toContain(`${id}  vault_billing_api_token  rollback_failed  by @alice`);
      expect(status.stdout).toContain(
        "\n  vault: back on the old value\n  staging: “Put the clients back on the old token",
      );
      expect(status.stdout).toContain(`rotabot abort ${id} --retry-rollback`);
      await box.telegram.waitForMessage(
        (m) =>
          m.message.chat.id === AUDIT && textOf(m).includes(`[${id}] ⚠️ aborted by @alice, but the rollback failed`),
        15_000,
      );

      renameSync(`${gateway}.away`, gateway);
      repaired = true;
      pressOn(card, "r");
      const ended = await opsAborted(card.message.message_id);
      expect(textOf(ended)).toContain("every service is back on the old value");
      expect(journal(id).state).toBe("aborted");
      expect(vaultPlain()).toBe(before);
      expect(await box.git("status", "--porcelain")).toBe("");
      expect(await box.apiGateway.status("vault_billing_api_token", vaultValue("vault_billing_api_token")!)).toBe(200);
    } finally {
      if (!repaired) renameSync(`${gateway}.away`, gateway);
    }
  });

  it("runs the seed's literal NATS reload as docker would: usage, exit 0, no reload; the shipped step reloads", async () => {
    const loaded = await loadRunbook(SHIPPED_RUNBOOK);
    if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
    const step = loaded.runbook.procedures.find((p) => p.id === "nats")!.steps.find((s) => s.id === "reload")!;
    if (step.kind !== "nats_reload") throw new Error("the nats reload step changed kind");
    const loadTime = async () =>
      ((await (await fetch(`${box.nats.monitorUrl}/varz`)).json()) as { config_load_time: string }).config_load_time;
    const run = (argv: readonly string[]) =>
      execa(argv[0]!, argv.slice(1), { cwd: box.infraDir, env: box.rotabotEnv, extendEnv: false, reject: false });

    const before = await loadTime();
    const seed = await run(step.seed!.trim().split(/\s+/));
    expect(seed.exitCode).toBe(0);
    expect(seed.stderr).toContain("flag needs an argument: -sl");
    expect(seed.stdout).toContain("Usage: nats-server [options]");
    expect(await loadTime()).toBe(before);

    const staging = loaded.runbook.environments[0]!.inventory;
    const shipped = (argv: readonly string[]) =>
      argv.map((a) => a.replace("{vault_password_file}", box.passwordFile).replace("{inventory}", staging));
    expect((await run(shipped(step.config_test))).exitCode).toBe(0);
    expect(await loadTime()).toBe(before);
    const reload = await run(shipped(step.reload));
    expect(reload.exitCode).toBe(0);
    expect(reload.stdout).toMatch(/localhost +: ok=1 +changed=1 /);
    await expect.poll(loadTime, { timeout: 10_000 }).not.toBe(before);
  });

  it("does not reload NATS with a config that does not validate, and says why", async () => {
    const staging = box.environments[0]!.varsFile;
    const original = readFileSync(staging, "utf8");
    writeFileSync(staging, `${original}nats_extra_config: "cluster { this is not valid"\n`);
    const loadTime = async () =>
      ((await (await fetch(`${box.nats.monitorUrl}/varz`)).json()) as { config_load_time: string }).config_load_time;
    const before = await loadTime();
    try {
      const failed = await walkUntilFailure("/rotate nats");
      expect(textOf(failed)).toContain(
        "Reload NATS failed: the new NATS config does not validate, so NATS was not reloaded",
      );
      expect(await loadTime()).toBe(before);
      pressOn(failed, "a");
      // The rollback re-deploys the clients and runs into the same broken config: it says so, and stays in flight.
      const card = await box.telegram.waitForMessage(
        (m) => m.message.message_id > failed.message.message_id && textOf(m).includes("The rollback of rotation"),
        180_000,
      );
      // The first reload of the rollback (with both users again) meets it.
      expect(textOf(card)).toMatch(
        /✘ Reload NATS with the old and the new user( in staging)? failed: the new NATS config does not validate/,
      );
      expect(vaultPlain()).not.toContain("vault_nats_password_new");
      // Repaired, the retry runs the whole rollback again (the render before the reload too) and the abort ends.
      writeFileSync(staging, original);
      pressOn(card, "r");
      await box.telegram.waitForMessage(
        (m) =>
          m.message.chat.id === AUDIT &&
          textOf(m).includes("⏹ aborted by") &&
          textOf(m).includes("vault_nats_password"),
        180_000,
      );
    } finally {
      writeFileSync(staging, original);
      await box.playbook("deploy_nats.yml", "--tags", "config");
    }
  });

  it("ends every rotation with the old credential refused by its service", async () => {
    await rotateEverySecret();
    const old = box.secrets;
    const refused = {
      vault_telegram_bot_token: (await getMe(old.vault_telegram_bot_token)).status,
      vault_signalwire_token: await repoStatus(old.vault_signalwire_token),
      vault_postgres_app_password: await pgLogin(old.vault_postgres_app_password),
      vault_nats_password: await connect({
        servers: box.nats.url,
        user: natsUserFor(NATS_USER, old.vault_nats_password),
        pass: old.vault_nats_password,
        reconnect: false,
      }).then(
        (nc) => nc.close().then(() => "accepted"),
        (error: Error) => error.message,
      ),
      vault_sentry_dsn: await fetch(`${box.sentry.url}/api/4507/store/`, {
        method: "POST",
        headers: { "X-Sentry-Auth": `Sentry sentry_key=${/\/\/([0-9a-f]+)@/.exec(old.vault_sentry_dsn)![1]}` },
        body: "{}",
      }).then((r) => r.status),
      vault_billing_api_token: await box.apiGateway.status("vault_billing_api_token", old.vault_billing_api_token),
    };
    expect(Object.keys(refused).sort()).toEqual(Object.keys(old).sort());
    expect(refused).toEqual({
      vault_telegram_bot_token: 401,
      vault_signalwire_token: 401,
      vault_postgres_app_password: expect.stringMatching(/^refused: password authentication failed/) as string,
      vault_nats_password: expect.stringMatching(/Authorization Violation/i) as string,
      vault_sentry_dsn: 403,
      vault_billing_api_token: 401,
    });
  }, 900_000);

  it("leaves no secret value in any form in chat, logs, state, service logs or git history", async () => {
    await rotateEverySecret();
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
      );
    const requests = JSON.stringify(
      box.telegram.calls.map((c) => [c.method, c.params, c.method === "getUpdates" ? null : c.result]),
    );
    const texts = [
      requests,
      ...box.telegram.documents().map((d) => d.content.toString("latin1")),
      bot.output(),
      box.postgres.serverLog(),
      box.nats.log(),
      ...files(box.rotabotEnv.STATE_DIR!).map((f) => readFileSync(f).toString("latin1")),
    ];
    const history = await box.git("log", "-p", "--all");
    expect(leaks([...texts, history].join("\n"), secrets)).toEqual([]);
  }, 900_000);
});
