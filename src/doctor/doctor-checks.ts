import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import { prepareStateDir } from "../fs/prepare-state-dir.js";
import { todayUtc } from "../time/calendar-date.js";
import { readManifest } from "../manifest/read-manifest.js";
import { allSteps, type Runbook } from "../runbook/runbook-schema.js";
import { stepCommands } from "../steps/registry.js";
import type { Vault } from "../vault/create-vault.js";
import {
  connectionFindings,
  inventoryFindings,
  ownTokenFinding,
  servicesOf,
  type EstateFinding,
} from "../rotation/check-estate.js";

/** One line of the doctor's report. */
export interface CheckResult {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  /** What to do about it; absent when all is well. */
  fix?: string;
}

export interface DoctorDeps {
  runbook: Runbook;
  infraDir: string;
  stateDir: string;
  vault: Vault;
  env: Readonly<Record<string, string | undefined>>;
  now: () => Date;
  /** rotabot's own BOT_TOKEN, when set: no secret a procedure rotates may hold it. */
  ownToken?: string | undefined;
}

const ok = (check: string, detail: string): CheckResult => ({ check, status: "ok", detail });
const bad = (status: "warn" | "fail", check: string, detail: string, fix: string): CheckResult => ({
  check,
  status,
  detail,
  fix,
});

async function onPath(program: string, env: Readonly<Record<string, string | undefined>>): Promise<boolean> {
  for (const dir of (env.PATH ?? "").split(":").filter(Boolean)) {
    if (
      await access(path.join(dir, program), constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

/** Every argv the runbook can run, with where it comes from. */
function commandsOf(runbook: Runbook): { where: string; argv: readonly string[] }[] {
  const out: { where: string; argv: readonly string[] }[] = [];
  if (runbook.deploy_guard) out.push({ where: "deploy_guard", argv: runbook.deploy_guard.argv });
  for (const p of runbook.procedures) {
    for (const s of [...allSteps(p), ...p.rollback])
      for (const argv of stepCommands(s)) out.push({ where: `${p.id}/${s.id}`, argv });
  }
  for (const s of runbook.epilogue) for (const argv of stepCommands(s)) out.push({ where: `epilogue/${s.id}`, argv });
  return out;
}

/**
 * The checks of `rotabot doctor` that need no Telegram: tools, files the runbook names, the
 * vault and its password file, manifest and vault agreeing, STATE_DIR writable.
 */
export async function runLocalChecks({
  runbook,
  infraDir,
  stateDir,
  vault,
  env,
  now,
  ownToken,
}: DoctorDeps): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const commands = commandsOf(runbook);
  const inInfra = (file: string) =>
    stat(path.join(infraDir, file)).then(
      () => true,
      () => false,
    );

  for (const program of [
    "ansible-vault",
    "git",
    ...new Set(commands.map((c) => c.argv[0]!).filter((p) => !p.includes("/"))),
  ]) {
    results.push(
      (await onPath(program, env))
        ? ok(`tool ${program}`, "found on PATH")
        : bad(
            "fail",
            `tool ${program}`,
            "not found on PATH",
            program.startsWith("ansible") ? "apt-get install ansible-core" : `install ${program} on the ops host`,
          ),
    );
  }
  const files = new Map<string, string>();
  for (const { where, argv } of commands) {
    for (const arg of argv) if (/^[\w.-]+\/[\w./-]+$/.test(arg) && !arg.startsWith("/")) files.set(arg, where);
  }
  for (const file of [runbook.files.vault, runbook.files.manifest]) files.set(file, "files");
  for (const [file, where] of files) {
    results.push(
      (await inInfra(file))
        ? ok(`file ${file}`, `exists (used by ${where})`)
        : bad(
            "fail",
            `file ${file}`,
            `missing in INFRA_DIR (used by ${where})`,
            `add it to the infra checkout ${infraDir}, or fix the runbook`,
          ),
    );
  }

  // The seed's helper runbook is for people (rotabot runs without it): missing, it is a warning.
  const helper = runbook.files.helper_runbook;
  if (helper !== undefined) {
    results.push(
      (await inInfra(helper))
        ? ok(`file ${helper}`, "exists (the helper runbook, files.helper_runbook)")
        : bad(
            "warn",
            `file ${helper}`,
            "missing in INFRA_DIR (the helper runbook, files.helper_runbook)",
            `add it to the infra checkout ${infraDir}, or remove files.helper_runbook from the runbook`,
          ),
    );
  }

  const password = await vault.checkPasswordFile();
  if (!password.ok)
    results.push(bad("fail", "vault password file", password.message, "create it with the vault password, mode 0600"));
  else
    results.push(
      // rotate refuses to start on such a file, so doctor cannot call the setup healthy.
      password.warnings.length > 0
        ? bad("fail", "vault password file", password.warnings.join("; "), "chmod 600 the file")
        : ok("vault password file", "present, readable only by its owner"),
    );
  const keys = await vault.listKeys();
  if (!keys.ok) results.push(bad("fail", "vault", keys.message, "see the message"));
  else results.push(ok("vault", `decrypts: ${keys.keys.length} variables`));

  const manifest = await readManifest(path.join(infraDir, runbook.files.manifest), {
    categories: new Set(Object.keys(runbook.policies)),
    asOf: todayUtc(now()),
  });
  if (!manifest.ok || manifest.problems.length > 0) {
    results.push(
      bad(
        "fail",
        "manifest",
        manifest.problems.map((p) => `line ${p.line}: ${p.message}`).join("; "),
        "fix the manifest (rotabot age shows every problem)",
      ),
    );
  } else {
    results.push(ok("manifest", `${manifest.entries.length} secrets`));
  }
  if (keys.ok && manifest.ok) {
    const inVault = new Set(keys.keys);
    for (const entry of manifest.entries) {
      if (!inVault.has(entry.key))
        results.push(
          bad(
            "fail",
            `secret ${entry.key}`,
            "in the manifest but not in the vault",
            `add ${entry.key} to the vault (ansible-vault edit) or remove it from the manifest`,
          ),
        );
    }
    const listed = new Set(manifest.entries.map((e) => e.key));
    for (const key of keys.keys) {
      if (key.endsWith("_new"))
        results.push(
          bad(
            "fail",
            `secret ${key}`,
            "left in the vault by an unfinished rotation",
            `resume or abort that rotation (rotabot status), or remove ${key}`,
          ),
        );
      else if (key.startsWith("vault_") && !listed.has(key))
        results.push(
          bad(
            "warn",
            `secret ${key}`,
            "in the vault but not in the manifest, so nobody tracks its age",
            `add ${key} to the manifest with its category`,
          ),
        );
    }
  }

  const rotated = manifest.ok ? rotatedKeys(runbook, manifest.entries) : [];
  results.push(...(await estateChecks({ runbook, infraDir, env, ownToken, vault, rotated })));

  const usable = prepareStateDir(stateDir);
  results.push(
    usable.ok ? ok("STATE_DIR", `${stateDir} is writable`) : bad("fail", "STATE_DIR", usable.problem, usable.fix),
  );
  return results;
}

/** The vault keys some procedure rotates: its own secret, or the manifest's keys of its category. */
function rotatedKeys(runbook: Runbook, entries: readonly { key: string; category: string }[]): string[] {
  return runbook.procedures.flatMap((p) =>
    p.secret ? [p.secret] : entries.filter((e) => e.category === p.category).map((e) => e.key),
  );
}

const failed = (f: EstateFinding): CheckResult => ({ check: f.check, status: "fail", detail: f.detail, fix: f.fix });

/**
 * What rotate and /rotate refuse on a real estate (src/rotation/check-estate.ts): rotabot's own
 * token as a secret a procedure rotates, an inventory no environment lists (file or folder), and
 * connection settings rotabot's checks could not use.
 */
async function estateChecks({
  runbook,
  infraDir,
  env,
  ownToken,
  vault,
  rotated,
}: Pick<DoctorDeps, "runbook" | "infraDir" | "env" | "ownToken" | "vault"> & {
  rotated: readonly string[];
}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  if (ownToken !== undefined) {
    const own: EstateFinding[] = [];
    for (const key of new Set(rotated)) {
      const read = await vault.read(key);
      const finding = read.ok ? ownTokenFinding(ownToken, key, read.value) : undefined;
      if (finding) own.push(finding);
    }
    results.push(
      ...(own.length > 0
        ? own.map(failed)
        : [ok("own bot token", "no secret a procedure rotates holds rotabot's own BOT_TOKEN")]),
    );
  }
  const names = runbook.environments.map((e) => e.name).join(", ");
  const inventories = await inventoryFindings(runbook, infraDir);
  results.push(
    ...(inventories.length > 0
      ? inventories.map(failed)
      : [ok("environments", `${names}: every inventory beside them is listed`)]),
  );
  const connections = await connectionFindings(runbook, env, servicesOf(runbook.procedures));
  results.push(
    ...(connections.length > 0
      ? connections.map(failed)
      : [ok("connection settings", `${names}: the TLS settings and CA files rotabot's checks use are there`)]),
  );
  return results;
}
