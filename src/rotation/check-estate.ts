import { createHash, timingSafeEqual } from "node:crypto";
import { constants } from "node:fs";
import { access, readdir, realpath, stat } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { allSteps, inventoryKey, type Procedure, type Runbook } from "../runbook/runbook-schema.js";

/**
 * Something about the estate that would hurt a rotation, found before its first write: what,
 * and what to do. `rotate`, `/rotate` (through checkCanStart), `doctor` and `preflight` share these.
 */
export interface EstateFinding {
  check: string;
  detail: string;
  fix: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Equal without a timing side channel, and without either value leaving this function. */
function sameSecret(a: string, b: string): boolean {
  const digest = (v: string) => createHash("sha256").update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

const OWN_TOKEN_FIX =
  "rotate rotabot's own token by its procedure, docs/deploy.md \"Rotating rotabot's own bot token\" (a shell, BotFather, the systemd credential); if the notification bot is meant to be another bot, give it its own token in the vault";

/**
 * rotabot's own BOT_TOKEN as the value of a secret it would rotate: the procedure would have the
 * operator revoke the token rotabot runs on, mid-rotation, and rotabot could never receive the
 * new one (401s, restarts in a loop). Compares digests; neither value is ever put in a message.
 */
export function ownTokenFinding(ownToken: string | undefined, key: string, value: string | undefined) {
  if (ownToken === undefined || value === undefined || !sameSecret(ownToken, value)) return undefined;
  return {
    check: `secret ${key}`,
    detail: `${key} holds rotabot's own BOT_TOKEN: rotating it here would have you revoke the token rotabot runs on, and rotabot could not receive the new one`,
    fix: OWN_TOKEN_FIX,
  } satisfies EstateFinding;
}

/** Files that may be an inventory (ansible's yaml, ini, json and script inventories), not hidden. */
function inventoryLike(name: string): boolean {
  if (name.startsWith(".")) return false;
  const ext = path.extname(name).toLowerCase();
  return ext === "" || [".yml", ".yaml", ".ini", ".json", ".py", ".sh"].includes(ext);
}

/** Folders ansible reads beside an inventory that are not inventories themselves. */
const NOT_INVENTORY_DIRS = new Set(["group_vars", "host_vars"]);

async function isDirectory(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** A folder kept as one inventory (`production/hosts.yml`): it holds an inventory-like file, at most two levels down. */
async function holdsInventory(dir: string, depth = 2): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile() && inventoryLike(entry.name)) return true;
    if (entry.isDirectory() && depth > 1 && !NOT_INVENTORY_DIRS.has(entry.name) && !entry.name.startsWith("."))
      if (await holdsInventory(path.join(dir, entry.name), depth - 1)) return true;
  }
  return false;
}

/**
 * Every inventory of the infra checkout that no environment lists, file or folder, and every
 * listed one that leads outside the checkout (a symlink). The folders searched are
 * those of the listed inventories (`infra/inventory` for `infra/inventory/staging.yml`), and the
 * folder above one kept per environment (`infra/inventory` for `infra/inventory/production/hosts.yml`
 * of environment `production`, or a listed folder `infra/inventory/production`). The vault is
 * shared and the revokes are account-wide, so an environment left out would keep the old value
 * after it is removed and revoked (or get the new one at its next deploy while its database or NATS
 * still expect the old one).
 */
export async function inventoryFindings(runbook: Runbook, infraDir: string): Promise<EstateFinding[]> {
  const findings: EstateFinding[] = [];
  const listed = runbook.environments.map((e) => ({ name: e.name, inventory: inventoryKey(e.inventory) }));
  const names = runbook.environments.map((e) => e.name).join(", ");
  const realInfra = await realpath(infraDir).catch(() => path.resolve(infraDir));
  const folders = new Set<string>();
  for (const { name, inventory } of listed) {
    const full = path.join(infraDir, inventory);
    // A missing one is left to the --list-tasks check (its plays then match no host).
    const real = await realpath(full).catch(() => undefined);
    if (real !== undefined && real !== realInfra && !real.startsWith(`${realInfra}${path.sep}`)) {
      findings.push({
        check: `environment ${name}`,
        detail: `its inventory ${inventory} leads outside the infra checkout (to ${real})`,
        fix: `keep the inventory itself in ${infraDir}, reviewed with the playbooks, instead of a link to it`,
      });
      continue;
    }
    // A listed folder's parent is the inventories folder; so is the one above `<environment>/hosts.yml`.
    const folder = path.posix.dirname(inventory);
    if (folder !== ".") folders.add(folder);
    const above = path.posix.dirname(folder);
    if (!(await isDirectory(full)) && path.posix.basename(folder) === name && above !== ".") folders.add(above);
  }
  const covered = (entry: string) =>
    listed.some(
      ({ inventory }) => inventory === entry || inventory.startsWith(`${entry}/`) || entry.startsWith(`${inventory}/`),
    );
  const unlisted = new Set<string>();
  for (const folder of folders) {
    const entries = await readdir(path.join(infraDir, folder), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const relative = path.posix.join(folder, entry.name);
      if (covered(relative)) continue;
      const inventory = entry.isFile()
        ? inventoryLike(entry.name)
        : entry.isDirectory() &&
          !NOT_INVENTORY_DIRS.has(entry.name) &&
          !entry.name.startsWith(".") &&
          (await holdsInventory(path.join(infraDir, relative)));
      if (inventory) unlisted.add(entry.isDirectory() ? `${relative}/` : relative);
    }
  }
  for (const inventory of [...unlisted].sort())
    findings.push({
      check: `environment ${inventory}`,
      detail: `an inventory no environment lists (the runbook rolls out to ${names} only): the vault and the revokes are shared, so a rotation would leave it on a removed, revoked value`,
      fix: `add it to environments: in the runbook, in rollout order (docs/runbook.md, "Environments: staging, then production"), or move it out of ${path.posix.dirname(inventory.replace(/\/$/, ""))} if it does not use this vault`,
    });
  return findings;
}

/** The services a procedure's own built-ins talk to (its steps, checks and rollback). */
export function servicesOf(procedures: readonly Procedure[]): Set<"postgres" | "nats"> {
  const services = new Set<"postgres" | "nats">();
  for (const procedure of procedures)
    for (const step of [...allSteps(procedure), ...procedure.rollback]) {
      const builtin = "check" in step && step.check ? step.check.builtin : "";
      if (step.kind === "postgres_set_password" || builtin.startsWith("postgres_")) services.add("postgres");
      if (step.kind === "nats_reload" || builtin.startsWith("nats_")) services.add("nats");
    }
  return services;
}

/** libpq's sslmode values (PostgreSQL 15, "SSL Support": Table 34.1). */
export const PG_SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

async function readable(file: string): Promise<boolean> {
  return access(file, constants.R_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Connection settings rotabot's own checks could not use, in each environment (its `env` over the
 * process's): a PGSSLMODE libpq does not know, a CA or client certificate file that is missing,
 * certificate verification asked for (`verify-ca`, `verify-full`) without a CA to verify with
 * (libpq's default ~/.postgresql/root.crt absent too), NATS_CA missing; and, with several
 * environments, one that does not say where its PostgreSQL or NATS is (it would use the process's,
 * which is another environment's, or localhost).
 */
export async function connectionFindings(
  runbook: Runbook,
  processEnv: Env,
  services: ReadonlySet<"postgres" | "nats">,
): Promise<EstateFinding[]> {
  const findings: EstateFinding[] = [];
  const several = runbook.environments.length > 1;
  for (const environment of runbook.environments) {
    const env: Env = { ...processEnv, ...environment.env };
    const where = `environment ${environment.name}`;
    const setIn = (name: string) =>
      name in environment.env ? `environments[${environment.name}].env` : "rotabot's environment";
    const missingFile = async (name: string, what: string) => {
      const file = env[name];
      if (file === undefined || file === "" || file === "system" || (await readable(file))) return;
      findings.push({
        check: `${where} ${name}`,
        detail: `${name}=${file} (${what}, from ${setIn(name)}) cannot be read`,
        fix: `put ${what} at ${file} on the ops host, readable by the user running rotabot, or fix ${name}`,
      });
    };
    if (services.has("postgres")) {
      const mode = env.PGSSLMODE;
      if (mode !== undefined && !(PG_SSL_MODES as readonly string[]).includes(mode)) {
        findings.push({
          check: `${where} PGSSLMODE`,
          detail: `PGSSLMODE=${mode} (from ${setIn("PGSSLMODE")}) is not one of libpq's modes`,
          fix: `use one of ${PG_SSL_MODES.join(", ")} (verify-full checks the server's certificate and name)`,
        });
      }
      await missingFile("PGSSLROOTCERT", "the CA certificate of the PostgreSQL server");
      await missingFile("PGSSLCERT", "the client certificate");
      await missingFile("PGSSLKEY", "the client certificate's key");
      const defaultRoot = path.join(env.HOME ?? homedir(), ".postgresql", "root.crt");
      if ((mode === "verify-ca" || mode === "verify-full") && !env.PGSSLROOTCERT && !(await readable(defaultRoot))) {
        findings.push({
          check: `${where} PGSSLROOTCERT`,
          detail: `PGSSLMODE=${mode} verifies the server's certificate, but no CA is configured (PGSSLROOTCERT is not set and ${defaultRoot} is missing)`,
          fix: "set PGSSLROOTCERT to the CA certificate that signed the server's, in the environment's env",
        });
      }
      if (several && !environment.env.PGHOST)
        findings.push({
          check: `${where} PGHOST`,
          detail: `${environment.name} does not say where its PostgreSQL is, so rotabot's checks there would use ${env.PGHOST ?? "localhost"}, which is not this environment's`,
          fix: `set PGHOST (and PGPORT, PGSSLMODE) in the env of environment ${environment.name}`,
        });
    }
    if (services.has("nats")) {
      await missingFile("NATS_CA", "the CA certificate of the NATS server");
      for (const name of ["NATS_URL", "NATS_MONITOR_URL"])
        if (several && !environment.env[name])
          findings.push({
            check: `${where} ${name}`,
            detail: `${environment.name} does not set ${name}, so rotabot would ${name === "NATS_URL" ? "check the streams of" : "confirm the reload on"} ${env[name] ?? "localhost"}, which is not this environment's NATS`,
            fix: `set ${name} in the env of environment ${environment.name}`,
          });
      const monitor = env.NATS_MONITOR_URL;
      if (monitor !== undefined && !/^https?:\/\/[^/]/.test(monitor))
        findings.push({
          check: `${where} NATS_MONITOR_URL`,
          detail: `NATS_MONITOR_URL=${monitor} is not an http:// or https:// URL`,
          fix: "set it to the NATS monitoring endpoint, such as https://nats1.example:8222 (with NATS_CA for a private CA)",
        });
    }
  }
  return findings;
}
