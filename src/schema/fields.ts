import { z } from "zod";
import { parseDuration } from "../time/duration.js";

/** Placeholders allowed in argv: none of them is a secret value. */
export const ARGV_PLACEHOLDERS = [
  "inventory",
  "environment",
  "vault_password_file",
  "infra_dir",
  "secret_key",
  "new_key",
  "rotation_id",
  "state_dir",
] as const;
/** Placeholders that expand to secret values: allowed only in a step's `env` or `stdin`. */
export const SECRET_PLACEHOLDERS = ["new_value", "old_value"] as const;
const PLACEHOLDER = /\{([a-z_]+)\}/g;

export const slug = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,40}$/, "use lowercase letters, digits, _ and - (max 41 characters)");
export const vaultKey = z
  .string()
  .regex(/^vault_[a-z0-9_]+$/, "vault keys look like vault_<name> (lowercase, digits, _)");
export const text = z.string().trim().min(1);
/** A runbook duration (a command's timeout, a polling interval): 1s to 24h, so a timer neither spins nor overflows. */
export const duration = z.string().superRefine((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) ctx.addIssue({ code: "custom", message: "write a duration such as 30s, 10m or 1h" });
  else if (ms < 1_000 || ms > 86_400_000)
    ctx.addIssue({ code: "custom", message: `${text} is out of range: write a duration between 1s and 24h` });
});

function placeholdersIn(value: string): string[] {
  return [...value.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export const argvSchema = z
  .array(z.string().min(1))
  .min(1)
  .superRefine((argv, ctx) => {
    argv.forEach((arg, i) => {
      for (const name of placeholdersIn(arg)) {
        if ((SECRET_PLACEHOLDERS as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: "custom",
            path: [i],
            message: `{${name}} is a secret value and may not appear in argv (other processes can read argv); pass it through the step's env or stdin`,
          });
        } else if (!(ARGV_PLACEHOLDERS as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: "custom",
            path: [i],
            message: `unknown placeholder {${name}}; argv may use ${ARGV_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
          });
        }
      }
    });
  });

const allPlaceholders = [...ARGV_PLACEHOLDERS, ...SECRET_PLACEHOLDERS] as readonly string[];
const withKnownPlaceholders = z.string().superRefine((value, ctx) => {
  for (const name of placeholdersIn(value)) {
    if (!allPlaceholders.includes(name)) ctx.addIssue({ code: "custom", message: `unknown placeholder {${name}}` });
  }
});

/**
 * Variables that change which program runs or what it loads (the dynamic loader, interpreters'
 * module paths and startup options, shells' startup files, git's and OpenSSL's plugins) and every
 * `ANSIBLE_*` setting (plugin and module paths, the config file, the vault password script, the
 * callback whose output rotabot reads, the log file that would hold what rotabot redacts). A
 * runbook's `env` tells commands and checks where services are; how programs are found and loaded
 * is the ops host's (the service's environment), and ansible's settings belong in the infra
 * checkout's ansible.cfg and inventory, reviewed with the playbooks.
 */
const LOADER_NAMES = new Set([
  "PATH",
  "HOME",
  "ENV",
  "BASH_ENV",
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "IFS",
  "CDPATH",
  "GCONV_PATH",
  "XDG_CONFIG_HOME",
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "LUA_PATH",
  "LUA_CPATH",
]);
const LOADER_PREFIXES = ["LD_", "DYLD_", "ANSIBLE_", "NODE_", "PYTHON", "PERL5", "PERLLIB", "RUBY", "GIT_", "OPENSSL_"];

/** Why a runbook may not set this variable, or undefined when it may. */
export function loaderVariableProblem(name: string): string | undefined {
  if (name.startsWith("ANSIBLE_"))
    return `${name} is an ansible setting: put it in the infra checkout's ansible.cfg, or per host in the inventory (ansible_user, ...), where it is reviewed with the playbooks; a runbook's env may not change how ansible loads its plugins, config or output`;
  if (LOADER_NAMES.has(name) || LOADER_PREFIXES.some((p) => name.startsWith(p)))
    return `${name} changes which programs run or what they load: a runbook may not set it. Set it for the rotabot service on the ops host (the unit's environment, or .env), where its admin sees it`;
  return undefined;
}

/**
 * Variables a runbook sets: UPPER_CASE names, and none that changes how programs are found or
 * loaded (each refused with its own reason, at its own key).
 */
export function envRecord<V extends z.ZodType<string>>(value: V) {
  return z
    .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "environment names are UPPER_CASE"), value)
    .superRefine((env, ctx) => {
      for (const name of Object.keys(env)) {
        const problem = loaderVariableProblem(name);
        if (problem) ctx.addIssue({ code: "custom", path: [name], message: problem });
      }
    });
}

/** A command: argv without a shell; secret values only by env or stdin. */
export const commandFields = {
  argv: argvSchema,
  env: envRecord(withKnownPlaceholders).optional(),
  stdin: withKnownPlaceholders.optional(),
  timeout: duration.default("10m"),
};

/** Which value of the secret a built-in uses: the `<key>_new` being rolled out or the canonical one. */
export const whichValue = z.enum(["new", "current"]).default("new");

/** Fields every step has, whatever its kind. */
export const stepBase = {
  id: slug,
  title: text,
  /** Marks the point of no return: confirmation first, no rollback after. */
  destructive: z.boolean().default(false),
  /** Safe to run again after an interruption; each kind has its own default. */
  idempotent: z.boolean().optional(),
  /** Once per rotation, or once in each environment (in rollout order); each kind has its own default. */
  scope: z.enum(["environment", "once"]).optional(),
  /** The seed runbook's own words or command for this step, shown in the plan. */
  seed: z.string().optional(),
  note: z.string().optional(),
};

/** A regular expression the collected value must match, and how to describe it to a human. */
export const formatSchema = z
  .object({
    pattern: z.string().refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, "not a valid regular expression"),
    hint: text,
  })
  .strict();
