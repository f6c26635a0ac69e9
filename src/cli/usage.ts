import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT, type CliIo } from "./cli-io.js";

// Every command's usage and command line, in one light module: `rotabot --help` and the argument
// check before a command runs load none of the commands' own imports.

export const START_USAGE = `Usage: rotabot start

Runs the Telegram bot (long polling) until SIGINT/SIGTERM. It takes no options: settings come
from the environment or ./.env (see .env.example); rotabot doctor checks them.`;

export const AGE_USAGE = `Usage: rotabot age [--infra DIR | --manifest FILE] [--as-of YYYY-MM-DD] [--due-soon-days N] [--json] [--exit-zero]

Reports each secret's age, due date and status from the manifest, most urgent first.
  --infra DIR          infra checkout (default: INFRA_DIR); reads infra/group_vars/all/_secrets_manifest.yml
  --manifest FILE      read this manifest file instead
  --as-of DATE         compute as of this day (default: today, UTC)
  --due-soon-days N    due within N days counts as due_soon (default: 30)
  --json               print a JSON array instead of the table
  --exit-zero          exit 0 even when something is overdue (still 2 on bad input)
Exit code: 0 all fine, 1 something overdue or never rotated, 2 bad manifest, runbook or arguments.`;

export const ROTATE_USAGE = `Usage: rotabot rotate <secret|alias> [--as NAME] [--incident REASON] [--compromised REASON [--since TIME] [--order compromise|routine]] [--yes] [--break-glass REASON] [--infra DIR]
       rotabot rotate --due [--as NAME] [--incident REASON] [--yes] [--break-glass REASON] [--infra DIR]

Rotates a secret on this terminal with the same engine as the chat (the fallback when Telegram is down).
  --due                  a rotation day: every secret overdue or never rotated, one after another in the
                         runbook's order, after one confirmation; a failure offers retry, skip or abort;
                         run it again to resume a day that was interrupted
  --as NAME              who is at the keyboard, for the CHANGELOG, the commit and the audit (default: the
                         user who ran sudo, else the login user); the account rotabot runs as is named beside it
  --incident REASON      rotate during a deploy; the reason goes to the journal, the audit and the commit
  --compromised REASON   the value may have leaked: an incident, rotated in the procedure's compromise
                         order (the old value refused as early as the service allows), with the exposure
                         window measured and reported; the owner is told at the start
  --since TIME           when it may have leaked (2026-12-07T09:30Z, or 3h ago); default: now
  --order ORDER          compromise (default with --compromised) or routine: the plan shows what each costs
  --yes                  start without asking (every later decision is still asked)
  --break-glass REASON   approve the two-person steps alone (audited with the reason); for when nobody
                         else can be reached
  --infra DIR            infra checkout (default: INFRA_DIR)
SIGINT or SIGTERM at a question ends it at once and prints the rotabot resume command that continues.`;

export const STATUS_USAGE = `Usage: rotabot status [--infra DIR]

Lists the rotations in flight: state, step, what they wait for; a failed rollback with each
environment's state and the way out; and credentials created for ended rotations that are still
to be revoked.`;

export const HISTORY_USAGE = `Usage: rotabot history [--limit N] [--infra DIR]

Lists the latest rotations, newest first (default 20): when, which secret, how it ended, by whom,
its commit; for a suspected compromise, its reason and the measured exposure window (how long the
old value stayed accepted), and any measured outage.`;

export const TIMELINE_USAGE = `Usage: rotabot timeline <rotation-id> [--markdown] [--infra DIR]

A rotation's timeline for a post-mortem, from its journal and the audit log (STATE_DIR/audit.jsonl):
the declaration, every step's end, every decision and who made it, when the old value was proven
refused, the end. --markdown prints a table to paste; rotabot audit verify checks the log's chain.`;

export const RESUME_USAGE = `Usage: rotabot resume <rotation-id> [--as NAME] [--break-glass REASON] [--infra DIR]

Continues an interrupted or waiting rotation (rotabot status lists them). --as NAME as for rotate:
only the person who started a rotation may answer its questions.`;

export const ABORT_USAGE = `Usage: rotabot abort <rotation-id> [--retry-rollback] [--as NAME] [--infra DIR]

Aborts a rotation before its point of no return: drops <key>_new and rolls back, showing each
rollback step; waits for the end and exits 1 when the rollback failed (the rotation then stays
in flight, and rotabot status says what failed in each environment).
  --retry-rollback       runs a failed rollback again, every step from the first`;

export const AUDIT_USAGE = `Usage: rotabot audit verify [--state-dir DIR]
       rotabot audit reseal [--state-dir DIR]

  verify   checks STATE_DIR/audit.jsonl for edited or removed lines (exit 1 when it was tampered with)
  reseal   after checking a log that does not verify: keeps it aside, starts a new chain`;

export const DOCTOR_USAGE = `Usage: rotabot doctor [--infra DIR] [--json]

Checks tools, files, vault, manifest, STATE_DIR, that every ansible-playbook step selects tasks
(--list-tasks) and, with BOT_TOKEN, Telegram; each problem with a fix.`;

export const PREFLIGHT_USAGE = `Usage: rotabot preflight <secret|alias> [--environment NAME] [--infra DIR] [--json]

Rehearses a rotation on the real estate and changes nothing: every check rotate makes before its
first write (rotabot's own token, unlisted inventories, TLS settings, the vault, a rotation in
flight, uncommitted files), the deploy guard and whether it is wired, the services reached with the
current credential, the bot's chats, and every ansible-playbook step run with --check --diff
against its environment's inventory (values redacted). One verdict per step.
  --environment NAME   only this environment's steps and services (default: every environment)
  --infra DIR          infra checkout (default: INFRA_DIR)
  --json               print the verdicts as a JSON array
Exit code: 0 a rotation would start and every step rehearsed, 1 something would fail, 2 bad input.`;

export const SANDBOX_USAGE = `Usage: rotabot sandbox [--port N]

Staging in a box with a web chat on http://127.0.0.1:N (default 8080); Ctrl-C stops and removes it.`;

/** A positional argument: `<name>`, required; `oneOf` lists the only words it may be. */
interface Positional {
  name: string;
  oneOf?: readonly string[];
  /** A boolean option that takes this argument's place: with it the argument is refused, without it required. */
  unless?: string;
}

interface CommandLineSpec {
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  positionals: readonly Positional[];
}

const infra = { infra: { type: "string" } } as const;
const as = { as: { type: "string" } } as const;

/** Each command's options (besides --help/-h) and positional arguments. */
export const COMMAND_LINES = {
  start: { usage: START_USAGE, options: {}, positionals: [] },
  age: {
    usage: AGE_USAGE,
    options: {
      ...infra,
      manifest: { type: "string" },
      "as-of": { type: "string" },
      "due-soon-days": { type: "string", default: "30" },
      json: { type: "boolean", default: false },
      "exit-zero": { type: "boolean", default: false },
    },
    positionals: [],
  },
  rotate: {
    usage: ROTATE_USAGE,
    options: {
      ...infra,
      ...as,
      incident: { type: "string" },
      compromised: { type: "string" },
      since: { type: "string" },
      order: { type: "string" },
      yes: { type: "boolean", default: false },
      "break-glass": { type: "string" },
      due: { type: "boolean", default: false },
    },
    positionals: [{ name: "<secret|alias>", unless: "due" }],
  },
  status: { usage: STATUS_USAGE, options: infra, positionals: [] },
  timeline: {
    usage: TIMELINE_USAGE,
    options: { ...infra, markdown: { type: "boolean", default: false } },
    positionals: [{ name: "<rotation-id>" }],
  },
  history: { usage: HISTORY_USAGE, options: { ...infra, limit: { type: "string", default: "20" } }, positionals: [] },
  resume: {
    usage: RESUME_USAGE,
    options: { ...infra, ...as, "break-glass": { type: "string" } },
    positionals: [{ name: "<rotation-id>" }],
  },
  abort: {
    usage: ABORT_USAGE,
    options: { ...infra, ...as, "retry-rollback": { type: "boolean", default: false } },
    positionals: [{ name: "<rotation-id>" }],
  },
  audit: {
    usage: AUDIT_USAGE,
    options: { "state-dir": { type: "string" } },
    positionals: [{ name: "<subcommand>", oneOf: ["verify", "reseal"] }],
  },
  doctor: { usage: DOCTOR_USAGE, options: { ...infra, json: { type: "boolean", default: false } }, positionals: [] },
  preflight: {
    usage: PREFLIGHT_USAGE,
    options: { ...infra, environment: { type: "string" }, json: { type: "boolean", default: false } },
    positionals: [{ name: "<secret|alias>" }],
  },
  sandbox: { usage: SANDBOX_USAGE, options: { port: { type: "string", default: "8080" } }, positionals: [] },
} as const satisfies Record<string, CommandLineSpec>;

export type CommandName = keyof typeof COMMAND_LINES;

type Parsed<N extends CommandName> = ReturnType<
  typeof parseArgs<{ options: (typeof COMMAND_LINES)[N]["options"]; strict: true; allowPositionals: true }>
>;

/** A command line that passed: its option values and positional arguments. */
export type CommandLine<N extends CommandName> =
  { ok: true; values: Parsed<N>["values"]; positionals: string[] } | { ok: false; exitCode: number };

/**
 * Parses a command's arguments strictly. `--help`/`-h` prints the usage (exit 0); an unknown
 * option, a missing or extra argument prints one line naming it and the usage (exit 2). On
 * `ok: false` the caller returns `exitCode` and does nothing else.
 */
export function readCommandLine<N extends CommandName>(
  command: N,
  args: readonly string[],
  io: Pick<CliIo, "stdout" | "stderr">,
): CommandLine<N> {
  const spec: CommandLineSpec = COMMAND_LINES[command];
  const refuse = (problem: string): CommandLine<N> => {
    io.stderr(`rotabot ${command}: ${problem}\n\n${spec.usage}\n`);
    return { ok: false, exitCode: EXIT.usage };
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...spec.options, help: { type: "boolean", short: "h", default: false } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    return refuse(describeParseError(error));
  }
  if (parsed.values.help === true) {
    io.stdout(`${spec.usage}\n`);
    return { ok: false, exitCode: EXIT.ok };
  }
  const { positionals } = parsed;
  for (const [index, expected] of spec.positionals.entries()) {
    const given = positionals[index];
    if (expected.unless !== undefined && (parsed.values as Record<string, unknown>)[expected.unless] === true) {
      if (given !== undefined) return refuse(`--${expected.unless} takes no ${expected.name}: give one or the other`);
      return { ok: true, values: parsed.values as unknown as Parsed<N>["values"], positionals };
    }
    if (given === undefined)
      return refuse(`missing ${expected.name}${expected.oneOf ? ` (${expected.oneOf.join(" or ")})` : ""}`);
    if (expected.oneOf && !expected.oneOf.includes(given))
      return refuse(`unknown ${expected.name} ${quote(given)}; use ${expected.oneOf.join(" or ")}`);
  }
  const extra = positionals[spec.positionals.length];
  if (extra !== undefined) return refuse(`unexpected argument ${quote(extra)}`);
  return { ok: true, values: parsed.values as unknown as Parsed<N>["values"], positionals };
}

/** node:util's parseArgs errors, as one short line that names the argument. */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const named = /'([^']*)'/.exec(message)?.[1]?.replace(/ <value>$/, "") ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${quote(named)}`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${quote(named)}`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (message.includes("argument missing")) return `${named} needs a value`;
    if (message.includes("ambiguous"))
      return `${named} needs a value (one that starts with "-" is written ${named}=VALUE)`;
    if (message.includes("does not take an argument")) return `${named} takes no value`;
  }
  return message.split("\n")[0]!;
}

/** An argument as typed, shortened: a pasted wall of text must not become the error message. */
function quote(text: string): string {
  const chars = [...text];
  return JSON.stringify(chars.length > 60 ? `${chars.slice(0, 60).join("")}…` : text);
}
