import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLACEHOLDER } from "../../src/preflight/run-preflight.js";
import { startStagingBox, type StagingBox } from "../../src/sandbox/start-staging-box.js";
import { PROJECT_ROOT } from "../support/paths.js";
import { leaks } from "../support/rotation-fixture.js";
import { runRotabot } from "../support/run-rotabot.js";

// Issue 21, point 5: `rotabot preflight <secret>` rehearses a rotation on the real estate (the
// box: real PostgreSQL, NATS, playbooks, vault, git) and changes nothing.
let box: StagingBox;
beforeAll(async () => {
  box = await startStagingBox({ packageRoot: PROJECT_ROOT, env: process.env });
}, 300_000);
afterAll(() => box?.stop());

/** Every file under `dir` (path and content), as one digest per file. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    if (!existsSync(at)) return;
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile())
        out[path.relative(dir, full)] =
          `${statSync(full).mode.toString(8)} ${createHash("sha256").update(readFileSync(full)).digest("hex")}`;
    }
  };
  walk(dir);
  return out;
}

/** The infra checkout (its .git included), STATE_DIR, and every service's state the rotation would touch. */
async function snapshot() {
  const varz = (await (await fetch(`${box.nats.monitorUrl}/varz`)).json()) as { config_load_time: string };
  const role = await box.postgres.admin("select rolpassword from pg_authid where rolname = 'akira_app'");
  const stream = (await (await fetch(`${box.nats.monitorUrl}/jsz?streams=true`)).json()) as { messages: number };
  return {
    infra: tree(box.infraDir),
    state: tree(box.rotabotEnv.STATE_DIR!),
    services: tree(box.servicesDir),
    natsConfigLoaded: varz.config_load_time,
    natsMessages: stream.messages,
    postgresVerifier: createHash("sha256")
      .update(String((role.rows[0] as { rolpassword?: string } | undefined)?.rolpassword))
      .digest("hex"),
    sentryEvents: box.sentry.events.length,
    telegramSent: box.telegram.calls.filter((c) => c.method === "sendMessage").length,
  };
}

const preflight = (secret: string, env: Record<string, string> = {}) =>
  runRotabot(["preflight", secret], { ...box.rotabotEnv, ...env }, box.infraDir);

describe("rotabot preflight", { timeout: 900_000 }, () => {
  it("passes on the box for the NATS password: every playbook step rehearsed with --check --diff, the services reached, and not a byte changed", async () => {
    const before = await snapshot();
    const { code, stdout, stderr } = await preflight("nats");
    expect(stderr).toBe("");
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(
      /^Preflight passed: a rotation of vault_nats_password would start, and every step rehearsed/m,
    );
    const playbooks = stdout.split("\n").filter((l) => / playbook .*--check --diff/.test(l));
    expect(playbooks.length).toBeGreaterThanOrEqual(14);
    expect(playbooks.filter((l) => !l.startsWith("✔"))).toEqual([]);
    expect(stdout).toContain(
      "✔ playbook infra/playbooks/deploy_nats.yml --tags drop_old in staging --check --diff (with vault_nats_password_new): 2 tasks on localhost; would change Render the NATS server config without the old password (localhost) on localhost (used by nats/drop_old_from_config)",
    );
    // The diff is shown, values redacted; the simulated new value says what it is.
    expect(stdout).toMatch(/^ {6}-NATS_USER=akira$/m);
    expect(stdout).toMatch(/^ {6}-NATS_PASSWORD=\[redacted\]$/m);
    expect(stdout).toContain(`+NATS_PASSWORD=${PLACEHOLDER}`);
    for (const reached of [
      /^✔ nats AKIRA_CDR in staging: stream AKIRA_CDR: \d+ messages; consumer cdr_worker: .*\(as akira-[0-9a-f]{8}, the current password\)$/m,
      /^✔ nats monitor in staging: http:\/\/127\.0\.0\.1:\d+\/varz answers/m,
      /^✔ nats clients in staging: 0 clients logged in as the current user \(akira-[0-9a-f]{8} or akira\)/m,
      /^✔ estate: not rotabot's own token; every inventory is an environment; the connection settings are usable$/m,
      /^✔ deploy guard: "No deploy is running" passes now/m,
      /^⚠ deploy guard wiring: the guard tests for \.deploy-in-progress, but nothing in the infra checkout takes it/m,
      /^✔ audit chat: channel -1001000000002: administrator$/m,
    ])
      expect(stdout).toMatch(reached);
    expect(leaks(stdout, Object.values(box.secrets))).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it("names every problem on a broken estate, changing nothing there either", async () => {
    // rotabot runs on the notification bot's token; an environment's inventory kept as a folder that
    // no environment lists; an uncommitted manifest; a deploy running; a playbook that cannot run.
    const own = box.secrets.vault_telegram_bot_token;
    mkdirSync(path.join(box.infraDir, "infra/inventory/production"));
    writeFileSync(path.join(box.infraDir, "infra/inventory/production/hosts.yml"), "all:\n  hosts:\n    db1:\n");
    appendFileSync(path.join(box.infraDir, "infra/group_vars/all/_secrets_manifest.yml"), "# edited by hand\n");
    writeFileSync(path.join(box.infraDir, ".deploy-in-progress"), '{"by":"ci","job":"4242"}\n');
    const notifications = path.join(box.infraDir, "infra/playbooks/deploy_notifications.yml");
    writeFileSync(
      notifications,
      readFileSync(notifications, "utf8").replace(
        "{{ services_root }}/notifications/bot.env",
        "{{ notifications_dir }}/bot.env",
      ),
    );
    const before = await snapshot();
    const { code, stdout } = await preflight("telegram", { BOT_TOKEN: own });
    expect(code, stdout).toBe(1);
    for (const problem of [
      /^✘ secret vault_telegram_bot_token: vault_telegram_bot_token holds rotabot's own BOT_TOKEN: rotating it here would have you revoke the token rotabot runs on[^\n]*\n {4}fix: rotate rotabot's own token by its procedure, docs\/deploy\.md "Rotating rotabot's own bot token"/m,
      /^✘ environment infra\/inventory\/production\/: an inventory no environment lists \(the runbook rolls out to staging only\)/m,
      /^✘ infra checkout: uncommitted changes in infra\/group_vars\/all\/_secrets_manifest\.yml$/m,
      /^✘ deploy guard: a deploy seems to be running: "No deploy is running" failed/m,
      /^✘ playbook infra\/playbooks\/deploy_notifications\.yml in staging --check --diff \(with vault_telegram_bot_token_new\): the rehearsal failed at "Render the bot token" on localhost \(used by telegram\/deploy_notifications\): fatal: \[localhost\]: FAILED!/m,
      // The notification bot posts alerts in the ops group but is no admin there: the chat checks
      // speak for the token configured.
      /^⚠ ops chat rights: @akira_alerts_bot is not an administrator of the ops chat and Telegram's privacy mode is on/m,
    ])
      expect(stdout).toMatch(problem);
    expect(stdout).toMatch(
      /^\d+ check\(s\) failed: a rotation of vault_telegram_bot_token would be refused or stop there\. Nothing was changed\.$/m,
    );
    expect(leaks(stdout, [own, ...Object.values(box.secrets)])).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });
});
