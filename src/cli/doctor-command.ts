import path from "node:path";
import { loadAuditKey } from "../audit/audit-key.js";

import { todayUtc } from "../time/calendar-date.js";
import { runLocalChecks, type CheckResult } from "../doctor/doctor-checks.js";
import { playbookStepsOf, runHostChecks, runPlaybookChecks } from "../doctor/playbook-checks.js";
import { runTelegramChecks } from "../doctor/telegram-checks.js";
import { allowedEnv } from "../exec/allowed-env.js";
import { createCommandRunner } from "../exec/create-command-runner.js";
import { createRedactor } from "../logging/redactor.js";
import { readManifest } from "../manifest/read-manifest.js";
import { loadRunbook } from "../runbook/load-runbook.js";
import { createAnsibleVaultCli } from "../vault/ansible-vault-cli.js";
import { createVault } from "../vault/create-vault.js";
import { createFileReplacer } from "../fs/replace-file.js";
import { readCliConfig } from "./read-cli-config.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { readCommandLine } from "./usage.js";

const ICON = { ok: "✔", warn: "⚠", fail: "✘" } as const;

/** `rotabot doctor`: everything around rotabot that must be right, each with a fix. Exit 1 on any failure. */
export async function runDoctorCommand(args: string[], io: CliIo): Promise<number> {
  const line = readCommandLine("doctor", args, io);
  if (!line.ok) return line.exitCode;
  const { values } = line;
  const read = readCliConfig(io, values.infra);
  if (!read.ok) {
    io.stderr(`rotabot doctor: ${read.error.message}\n`);
    return EXIT.usage;
  }
  const { config } = read;
  const results: CheckResult[] = [];
  const loaded = await loadRunbook(config.runbookFile);
  if (!loaded.ok)
    results.push({ check: "runbook", status: "fail", detail: loaded.problems.join("; "), fix: "fix the runbook" });
  else
    results.push({
      check: "runbook",
      status: "ok",
      detail: `${loaded.runbook.procedures.length} procedures in ${config.runbookFile}`,
    });
  if (config.infraDir === undefined) {
    results.push({
      check: "INFRA_DIR",
      status: "fail",
      detail: "not set",
      fix: "set INFRA_DIR (or pass --infra DIR) to the Akira infra checkout",
    });
  } else if (loaded.ok) {
    const cli = createAnsibleVaultCli({ passwordFile: config.vaultPasswordFile, env: allowedEnv(io.env) });
    const vault = createVault({
      vaultFile: path.join(config.infraDir, loaded.runbook.files.vault),
      passwordFile: config.vaultPasswordFile,
      cli,
      backupDir: path.join(config.stateDir, "vault-backups"),
      files: createFileReplacer({ stateDir: config.stateDir }),
    });
    results.push(
      ...(await runLocalChecks({
        runbook: loaded.runbook,
        infraDir: config.infraDir,
        stateDir: config.stateDir,
        vault,
        env: io.env,
        now: io.now,
        ownToken: config.botToken,
      })),
    );
    // Every ansible-playbook step must select at least one task on a host: a --tags that matches
    // no task runs nothing and exits 0.
    const manifest = await readManifest(path.join(config.infraDir, loaded.runbook.files.manifest), {
      categories: new Set(Object.keys(loaded.runbook.policies)),
      asOf: todayUtc(io.now()),
    });
    const entries = manifest.ok ? manifest.entries : [];
    const steps = playbookStepsOf(
      loaded.runbook,
      { vault_password_file: config.vaultPasswordFile, infra_dir: config.infraDir, state_dir: config.stateDir },
      (category) => entries.filter((e) => e.category === category).map((e) => e.key),
    );
    const runCommand = createCommandRunner({
      cwd: config.infraDir,
      baseEnv: { ...allowedEnv(io.env), ANSIBLE_NOCOLOR: "1" },
      redactor: createRedactor(),
    });
    const playbooks = await runPlaybookChecks({ steps, infraDir: config.infraDir, deps: { runCommand } });
    results.push(...playbooks.results);
    // ...and ansible, as this user, must reach every host they run on (SSH key, inventory user).
    results.push(
      ...(await runHostChecks({
        targets: playbooks.targets,
        vaultPasswordFile: config.vaultPasswordFile,
        deps: { runCommand },
      })),
    );
  }
  const auditKey = loadAuditKey(config.auditKey);
  results.push(
    !auditKey.ok
      ? { check: "audit key", status: "fail", detail: auditKey.message, fix: "see docs/security.md, the audit log" }
      : auditKey.key
        ? {
            check: "audit key",
            status: "ok",
            detail: `key ${auditKey.key.id} (${auditKey.key.file}) signs the audit log`,
          }
        : {
            check: "audit key",
            status: "warn",
            detail: "none: the audit log is sha256-chained only, so whoever can write STATE_DIR can rewrite it",
            fix: "give rotabot the systemd credential audit_key (the install role makes it) or AUDIT_KEY_FILE",
          },
  );
  if (config.botTokenProblem !== undefined) {
    results.push({
      check: "telegram",
      status: "fail",
      detail: `not checked: ${config.botTokenProblem}`,
      fix: "store the token from @BotFather again (docs/deploy.md); the shell commands work meanwhile, the bot does not start",
    });
  } else if (config.botToken && config.opsChatId !== undefined) {
    results.push(
      ...(await runTelegramChecks({
        apiRoot: config.telegramApiRoot,
        token: config.botToken,
        opsChatId: config.opsChatId,
        auditChatId: config.auditChatId ?? config.opsChatId,
      })),
    );
  } else {
    results.push({
      check: "telegram",
      status: "warn",
      detail: "not checked: BOT_TOKEN and OPS_CHAT_ID are not set",
      fix: "set them to check the bot and its chats",
    });
  }
  const failed = results.filter((r) => r.status === "fail").length;
  if (values.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
  else {
    for (const r of results)
      io.stdout(`${ICON[r.status]} ${r.check}: ${r.detail}${r.fix ? `\n    fix: ${r.fix}` : ""}\n`);
    io.stdout(failed === 0 ? "All checks passed.\n" : `${failed} check(s) failed.\n`);
  }
  return failed === 0 ? EXIT.ok : EXIT.attention;
}
