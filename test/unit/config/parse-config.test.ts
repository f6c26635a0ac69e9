import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, ConfigError, parseConfig } from "../../../src/config/parse-config.js";
import { readCredentialFile } from "../../../src/config/read-credential.js";
import { withEnvFile } from "../../../src/config/load-env-file.js";
import { PROJECT_ROOT } from "../../support/paths.js";

const TOKEN = "123456789:AAEexampleexampleexampleexample12345";
const options = { purpose: "start" as const, packageRoot: "/opt/rotabot" };
const valid = {
  HOME: "/home/ops",
  BOT_TOKEN: TOKEN,
  OPS_CHAT_ID: "-1001234567890",
  OPERATOR_IDS: "11, 22,11",
  INFRA_DIR: "/srv/akira",
};

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return expect.fail("expected a ConfigError");
}

describe("parseConfig", () => {
  it("applies the documented defaults", () => {
    const config = parseConfig(valid, options);
    expect(config).toEqual({
      botToken: TOKEN,
      telegramApiRoot: "https://api.telegram.org",
      opsChatId: -1001234567890,
      auditChatId: -1001234567890,
      operatorIds: [11, 22],
      infraDir: "/srv/akira",
      vaultPasswordFile: "/home/ops/.akira-vault-pass.txt",
      runbookFile: "/opt/rotabot/deploy/runbook.yml",
      stateDir: "/home/ops/.local/state/rotabot",
      logLevel: "info",
      confirmTimeoutMs: 900_000,
      approverIds: [],
      requireSecondApprover: false,
      chatMaxPerMinute: 15,
      reminders: { hour: 9, minute: 0, timeZone: "UTC" },
      shutdownGraceMs: 30_000,
    });
  });

  it("reads the digest time and time zone, or turns the digest off", () => {
    expect(
      parseConfig(
        { ...valid, REMINDER_TIME: "17:45", REMINDER_TIMEZONE: "Europe/Berlin", SHUTDOWN_GRACE: "2m" },
        options,
      ),
    ).toMatchObject({ reminders: { hour: 17, minute: 45, timeZone: "Europe/Berlin" }, shutdownGraceMs: 120_000 });
    expect(parseConfig({ ...valid, REMINDER_TIME: "off" }, options).reminders).toBeUndefined();
    const problems = problemsOf(() =>
      parseConfig(
        { ...valid, REMINDER_TIME: "9am", REMINDER_TIMEZONE: "Mars/Olympus", SHUTDOWN_GRACE: "soon" },
        options,
      ),
    );
    expect(problems).toEqual([
      "REMINDER_TIME must be a time of day such as 09:00 (24-hour), or off",
      "REMINDER_TIMEZONE must be an IANA time zone such as UTC or Europe/Berlin",
      "SHUTDOWN_GRACE must be a duration such as 30s or 2m",
    ]);
  });

  it("reads the forum topics of the digest and the audit lines, and names a wrong one with where to find it", () => {
    expect(parseConfig({ ...valid, DIGEST_TOPIC_ID: "42", AUDIT_TOPIC_ID: " 7 " }, options)).toMatchObject({
      digestTopicId: 42,
      auditTopicId: 7,
    });
    expect(parseConfig(valid, options)).toMatchObject({ digestTopicId: undefined, auditTopicId: undefined });
    expect(
      problemsOf(() => parseConfig({ ...valid, DIGEST_TOPIC_ID: "-3", AUDIT_TOPIC_ID: "general" }, options)),
    ).toEqual([
      "DIGEST_TOPIC_ID must be the number of a forum topic of OPS_CHAT_ID: the number after the group's name in the topic's link (t.me/c/<group>/<topic>), such as 42; docs/deploy.md, step 3",
      "AUDIT_TOPIC_ID must be the number of a forum topic of AUDIT_CHAT_ID: the number after the group's name in the topic's link (t.me/c/<group>/<topic>), such as 42; docs/deploy.md, step 3",
    ]);
  });

  it("lists every bad field in one error, with hints and without echoing the token", () => {
    const problems = problemsOf(() =>
      parseConfig(
        {
          BOT_TOKEN: "not-a-token-secretvalue",
          OPS_CHAT_ID: "ops",
          OPERATOR_IDS: "alice",
          TELEGRAM_API_ROOT: "ftp://x",
          LOG_LEVEL: "loud",
        },
        options,
      ),
    );
    expect(problems).toHaveLength(6);
    expect(problems.join("\n")).toMatch(/BOT_TOKEN .*@BotFather/);
    expect(problems.join("\n")).toMatch(/OPS_CHAT_ID must be a Telegram id/);
    expect(problems.join("\n")).toMatch(/OPERATOR_IDS must be comma-separated/);
    expect(problems.join("\n")).toMatch(/TELEGRAM_API_ROOT must be an http\(s\) URL/);
    expect(problems.join("\n")).toMatch(/LOG_LEVEL must be one of/);
    expect(problems.join("\n")).toMatch(/INFRA_DIR is required/);
    expect(problems.join("\n")).not.toContain("secretvalue");
  });

  it("refuses approvers who are not operators: the bot would never hear their Confirm", () => {
    const withApprovers = (APPROVER_IDS: string) =>
      parseConfig({ ...valid, APPROVER_IDS, REQUIRE_SECOND_APPROVER: "true" }, options);
    expect(problemsOf(() => withApprovers("22, 33, 44"))).toEqual([
      "APPROVER_IDS lists 33, 44, not in OPERATOR_IDS: the bot ignores anyone who is not an operator, so they could never approve; add them to OPERATOR_IDS too, or remove them from APPROVER_IDS",
    ]);
    expect(withApprovers("22").approverIds).toEqual([22]);
  });

  it("keeps every duration setting within its range, and names the range", () => {
    const ranges = { CONFIRM_TIMEOUT: ["1s", "24h"], SHUTDOWN_GRACE: ["1s", "1h"] } as const;
    for (const [name, [min, max]] of Object.entries(ranges)) {
      // Zero, under a second, past setTimeout's 2^31-1 ms, and past what a number holds exactly.
      for (const bad of ["0s", "0ms", "999ms", "2147483648ms", "600h", "99999999999999999999h"]) {
        expect(
          problemsOf(() => parseConfig({ ...valid, [name]: bad }, options)),
          `${name}=${bad}`,
        ).toEqual([
          expect.stringMatching(new RegExp(`^${name}=${bad} is out of range: it must be between ${min} and ${max}`)),
        ]);
      }
      for (const good of [min, max])
        expect(() => parseConfig({ ...valid, [name]: good }, options), `${name}=${good}`).not.toThrow();
    }
    expect(parseConfig({ ...valid, CONFIRM_TIMEOUT: "24h" }, options).confirmTimeoutMs).toBe(86_400_000);
  });

  it("refuses a positive group id and names the ids it most likely is", () => {
    expect(
      problemsOf(() => parseConfig({ ...valid, OPS_CHAT_ID: "1234567890", AUDIT_CHAT_ID: "42" }, options)),
    ).toEqual([
      expect.stringMatching(
        /^OPS_CHAT_ID=1234567890 is a positive number, .*supergroup or channel set OPS_CHAT_ID=-1001234567890, for a basic group OPS_CHAT_ID=-1234567890/,
      ),
      expect.stringMatching(/^AUDIT_CHAT_ID=42 .*AUDIT_CHAT_ID=-10042, .*AUDIT_CHAT_ID=-42/),
    ]);
    expect(problemsOf(() => parseConfig({ ...valid, OPS_CHAT_ID: "-99999999999999999999" }, options))).toEqual([
      expect.stringMatching(/^OPS_CHAT_ID is too long for a Telegram id/),
    ]);
    expect(parseConfig({ ...valid, OPS_CHAT_ID: "-4123", AUDIT_CHAT_ID: "-1002" }, options)).toMatchObject({
      opsChatId: -4123,
      auditChatId: -1002,
    });
  });

  it("requires the Telegram settings only to start the bot", () => {
    expect(problemsOf(() => parseConfig({}, options))).toHaveLength(4);
    expect(parseConfig({ HOME: "/h" }, { ...options, purpose: "cli" })).toMatchObject({
      infraDir: undefined,
      botToken: undefined,
    });
  });

  it("reads .env under the environment, the environment winning", () => {
    const merged = withEnvFile({ LOG_LEVEL: "debug" }, path.join(PROJECT_ROOT, ".env.example"));
    expect(merged.LOG_LEVEL).toBe("debug");
    expect(merged.TELEGRAM_API_ROOT).toBe("https://api.telegram.org");
    expect(withEnvFile({ A: "1" }, "/nonexistent/.env")).toEqual({ A: "1" });
  });

  it("keeps every chat's send budget within Telegram's limits, except against a Bot API on this machine", () => {
    expect(parseConfig({ ...valid, CHAT_MAX_PER_MINUTE: "10" }, options).chatMaxPerMinute).toBe(10);
    expect(parseConfig({ ...valid, AUDIT_MAX_PER_MINUTE: "12" }, options).chatMaxPerMinute).toBe(12);
    for (const [name, value] of [
      ["CHAT_MAX_PER_MINUTE", "16"],
      ["CHAT_MAX_PER_MINUTE", "600"],
      ["AUDIT_MAX_PER_MINUTE", "20"], // the old default of .env.example
    ] as const) {
      expect(problemsOf(() => parseConfig({ ...valid, [name]: value }, options))).toEqual([
        expect.stringMatching(
          new RegExp(`^${name}=${value} is more than Telegram allows .*: set at most 15, or remove it\\.`),
        ),
      ]);
    }
    expect(
      problemsOf(() =>
        parseConfig({ ...valid, TELEGRAM_API_ROOT: "https://bots.example.org", CHAT_MAX_PER_MINUTE: "600" }, options),
      ),
    ).toHaveLength(1);
    for (const root of ["http://127.0.0.1:8081", "http://localhost:9000", "http://[::1]:8081"])
      expect(parseConfig({ ...valid, TELEGRAM_API_ROOT: root, CHAT_MAX_PER_MINUTE: "600" }, options)).toMatchObject({
        chatMaxPerMinute: 600,
      });
    expect(problemsOf(() => parseConfig({ ...valid, CHAT_MAX_PER_MINUTE: "0" }, options))).toEqual([
      "CHAT_MAX_PER_MINUTE must be a whole number of messages, such as 15",
    ]);
    expect(problemsOf(() => parseConfig({ ...valid, CHAT_MAX_PER_MINUTE: "-5" }, options))).toHaveLength(1);
  });

  describe("with systemd credentials (CREDENTIALS_DIRECTORY)", () => {
    const credentials = (files: Record<string, string>) => {
      const dir = mkdtempSync(path.join(tmpdir(), "rotabot-credentials-"));
      for (const [name, value] of Object.entries(files)) writeFileSync(path.join(dir, name), value, { mode: 0o400 });
      return dir;
    };
    const withoutToken = { ...valid, BOT_TOKEN: undefined };

    it("reads the bot token from the credential bot_token and the vault password file from vault_password", () => {
      const dir = credentials({ bot_token: `${TOKEN}\n`, vault_password: "pw\n" });
      expect(parseConfig({ ...withoutToken, CREDENTIALS_DIRECTORY: dir }, options)).toMatchObject({
        botToken: TOKEN,
        vaultPasswordFile: path.join(dir, "vault_password"),
      });
    });

    it("lets BOT_TOKEN and VAULT_PASSWORD_FILE set in the environment win", () => {
      const dir = credentials({ bot_token: "999:BBEotherotherotherotherotherother12345" });
      expect(
        parseConfig({ ...valid, VAULT_PASSWORD_FILE: "/etc/pw", CREDENTIALS_DIRECTORY: dir }, options),
      ).toMatchObject({ botToken: TOKEN, vaultPasswordFile: "/etc/pw" });
    });

    it("says which credential is missing, empty, malformed or unreadable, without echoing it", () => {
      const empty = credentials({});
      expect(problemsOf(() => parseConfig({ ...withoutToken, CREDENTIALS_DIRECTORY: empty }, options))).toEqual([
        expect.stringMatching(/^BOT_TOKEN is required .*systemd credential bot_token/),
      ]);
      const blank = credentials({ bot_token: "\n" });
      expect(problemsOf(() => parseConfig({ ...withoutToken, CREDENTIALS_DIRECTORY: blank }, options))).toEqual([
        `BOT_TOKEN: the systemd credential ${blank}/bot_token is empty: store the token from @BotFather in it (docs/deploy.md)`,
      ]);
      const bad = credentials({ bot_token: "not-a-token-secretvalue" });
      const badProblems = problemsOf(() => parseConfig({ ...withoutToken, CREDENTIALS_DIRECTORY: bad }, options));
      expect(badProblems).toEqual([
        expect.stringContaining(`the systemd credential ${bad}/bot_token does not look like a bot token`),
      ]);
      expect(badProblems.join("\n")).not.toContain("secretvalue");
      const unreadable = parseConfig.bind(
        undefined,
        { ...withoutToken, CREDENTIALS_DIRECTORY: "/run/credentials/rotabot.service" },
        {
          ...options,
          readCredential: () => ({ ok: false, reason: "unreadable", message: "cannot read it (EACCES): fix" }),
        },
      );
      expect(problemsOf(unreadable)).toEqual(["BOT_TOKEN: cannot read it (EACCES): fix"]);
    });

    it("a malformed, empty or unreadable bot token blocks only `start`: the shell commands get why, to say it", () => {
      const cli = { ...options, purpose: "cli" as const };
      const bad = credentials({ bot_token: "not-a-token-secretvalue", vault_password: "pw\n" });
      const config = parseConfig({ ...withoutToken, CREDENTIALS_DIRECTORY: bad }, cli);
      expect(config).toMatchObject({
        botToken: undefined,
        botTokenProblem: expect.stringContaining(
          `the systemd credential ${bad}/bot_token does not look like a bot token`,
        ) as string,
        vaultPasswordFile: path.join(bad, "vault_password"),
        auditKey: { file: path.join(bad, "audit_key"), required: false },
      });
      expect(JSON.stringify(config)).not.toContain("secretvalue");
      expect(problemsOf(() => parseConfig({ ...withoutToken, CREDENTIALS_DIRECTORY: bad }, options))).toHaveLength(1);
      const blank = credentials({ bot_token: "\n" });
      expect(parseConfig({ ...withoutToken, CREDENTIALS_DIRECTORY: blank }, cli).botTokenProblem).toMatch(/is empty/);
      expect(parseConfig({ HOME: "/h", BOT_TOKEN: "12:short" }, cli)).toMatchObject({
        botToken: undefined,
        botTokenProblem: expect.stringMatching(/^BOT_TOKEN does not look like a bot token/) as string,
      });
      // Other bad settings still stop every command.
      expect(problemsOf(() => parseConfig({ HOME: "/h", BOT_TOKEN: "12:short", LOG_LEVEL: "loud" }, cli))).toEqual([
        expect.stringMatching(/^LOG_LEVEL must be one of/),
      ]);
    });

    it("takes the audit key from AUDIT_KEY_FILE, else the credential audit_key", () => {
      const dir = credentials({});
      const cli = { ...options, purpose: "cli" as const };
      expect(parseConfig({ HOME: "/h", CREDENTIALS_DIRECTORY: dir }, cli).auditKey).toEqual({
        file: path.join(dir, "audit_key"),
        required: false,
      });
      expect(parseConfig({ HOME: "/h", CREDENTIALS_DIRECTORY: dir, AUDIT_KEY_FILE: "~/k" }, cli).auditKey).toEqual({
        file: "/h/k",
        required: true,
      });
      expect(parseConfig({ HOME: "/h" }, cli).auditKey).toBeUndefined();
    });

    it("reads a credential file as systemd leaves it, and tells a missing one from an unreadable one", () => {
      const dir = credentials({ bot_token: `${TOKEN}\n` });
      expect(readCredentialFile(dir, "bot_token")).toEqual({
        ok: true,
        value: TOKEN,
        file: path.join(dir, "bot_token"),
      });
      expect(readCredentialFile(dir, "vault_password")).toMatchObject({ ok: false, reason: "missing" });
      // Tests run as root, who reads through mode bits: a credentials "directory" that is a file fails for anyone.
      const notADirectory = readCredentialFile(path.join(dir, "bot_token"), "x");
      expect(notADirectory).toMatchObject({ ok: false, reason: "unreadable" });
      expect(notADirectory.ok ? "" : notADirectory.message).toContain("(ENOTDIR)");
    });
  });

  it("keeps .env.example in step with the schema", () => {
    const documented = [...readFileSync(path.join(PROJECT_ROOT, ".env.example"), "utf8").matchAll(/^([A-Z_]+)=/gm)].map(
      (m) => m[1],
    );
    expect(documented.sort()).toEqual([...CONFIG_KEYS].sort());
  });
});
