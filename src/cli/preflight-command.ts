import path from "node:path";
import { createPreflight } from "../app/create-preflight.js";
import type { CheckResult } from "../doctor/doctor-checks.js";
import { allowedEnv } from "../exec/allowed-env.js";
import { createFileReplacer } from "../fs/replace-file.js";
import { createRedactor } from "../logging/redactor.js";
import { loadRunbook } from "../runbook/load-runbook.js";
import { resolveTarget, unreadableManifest } from "../runbook/resolve-target.js";
import { todayUtc } from "../time/calendar-date.js";
import { createAnsibleVaultCli } from "../vault/ansible-vault-cli.js";
import { createVault } from "../vault/create-vault.js";
import { readCliConfig } from "./read-cli-config.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { readCommandLine } from "./usage.js";

const ICON = { ok: "✔", warn: "⚠", fail: "✘" } as const;

/** `rotabot preflight <secret>`: a rehearsal of its rotation that changes nothing; exit 1 when something would fail. */
export async function runPreflightCommand(args: string[], io: CliIo): Promise<number> {
  const line = readCommandLine("preflight", args, io);
  if (!line.ok) return line.exitCode;
  const { values, positionals } = line;
  const refuse = (message: string) => {
    io.stderr(`rotabot preflight: ${message}\n`);
    return EXIT.usage;
  };
  const read = readCliConfig(io, values.infra);
  if (!read.ok) return refuse(read.error.message);
  const { config } = read;
  const { infraDir } = config;
  if (infraDir === undefined)
    return refuse("INFRA_DIR is not set: set it (or pass --infra DIR) to the Akira infra checkout");
  const loaded = await loadRunbook(config.runbookFile);
  if (!loaded.ok) return refuse(`the runbook is not valid:\n  ${loaded.problems.join("\n  ")}`);
  const { runbook } = loaded;
  const names = runbook.environments.map((e) => e.name);
  if (values.environment !== undefined && !names.includes(values.environment))
    return refuse(`no environment "${values.environment}" in the runbook; it has ${names.join(", ")}`);
  const found = await resolveTarget(
    runbook,
    path.join(infraDir, runbook.files.manifest),
    positionals[0]!,
    todayUtc(io.now()),
  );
  if (found.kind === "unreadable") return refuse(unreadableManifest(found, "run rotabot preflight"));
  if (found.kind === "unknown")
    return refuse(
      `no procedure for ${JSON.stringify(positionals[0])}${found.lookalike ? `: ${found.lookalike}` : ""}. Known: ${found.known.join(", ")}`,
    );
  if (found.kind === "ambiguous")
    return refuse(`"${positionals[0]}" fits several secrets; name one: ${found.keys.join(", ")}`);

  const redactor = createRedactor(config.botToken ? [config.botToken] : []);
  const vault = createVault({
    vaultFile: path.join(infraDir, runbook.files.vault),
    passwordFile: config.vaultPasswordFile,
    cli: createAnsibleVaultCli({ passwordFile: config.vaultPasswordFile, env: allowedEnv(io.env) }),
    backupDir: path.join(config.stateDir, "vault-backups"),
    files: createFileReplacer({ stateDir: config.stateDir }),
    // Every value is hidden from what the rehearsal prints, before a command runs.
    onValues: (secrets) => redactor.addAll(secrets),
  });
  const preflight = createPreflight({ config: { ...config, infraDir }, runbook, env: io.env, redactor, vault });
  const stop = new AbortController();
  void io.stopSignal.then(() => stop.abort());
  if (!values.json) io.stdout(`Preflight of ${found.key}: a rehearsal that changes nothing.\n`);
  const print = (result: CheckResult, diff: readonly string[]) => {
    if (values.json) return;
    io.stdout(
      `${ICON[result.status]} ${result.check}: ${result.detail}${result.fix ? `\n    fix: ${result.fix}` : ""}\n`,
    );
    for (const text of diff) io.stdout(`      ${text}\n`);
  };
  const results = await preflight({
    procedure: found.procedure,
    key: found.key,
    environment: values.environment,
    onResult: print,
    signal: stop.signal,
  });
  const failed = results.filter((r) => r.status === "fail").length;
  const warned = results.filter((r) => r.status === "warn").length;
  if (values.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
  else
    io.stdout(
      failed === 0
        ? `Preflight passed: a rotation of ${found.key} would start, and every step rehearsed${warned > 0 ? ` (${warned} warning${warned === 1 ? "" : "s"} above)` : ""}. Nothing was changed.\n`
        : `${failed} check(s) failed: a rotation of ${found.key} would be refused or stop there. Nothing was changed.\n`,
    );
  return failed === 0 ? EXIT.ok : EXIT.attention;
}
