import path from "node:path";

/** What an `ansible-playbook` argv asks for: its playbooks and what selects tasks and hosts. */
export interface PlaybookCall {
  playbooks: string[];
  /** `--tags` / `-t`, split on commas; empty means every task not tagged `never`. */
  tags: string[];
  skipTags: string[];
  /** `--limit` / `-l`, as given. */
  limit: string | undefined;
  inventory: string[];
}

// ansible-playbook 2.14 options that take a value (from `ansible-playbook --help`).
const SHORT_WITH_VALUE = new Set(["-u", "-c", "-T", "-t", "-i", "-l", "-e", "-f", "-M"]);
const LONG_WITH_VALUE = new Set([
  "--private-key",
  "--key-file",
  "--user",
  "--connection",
  "--timeout",
  "--ssh-common-args",
  "--sftp-extra-args",
  "--scp-extra-args",
  "--ssh-extra-args",
  "--connection-password-file",
  "--conn-pass-file",
  "--become-method",
  "--become-user",
  "--become-password-file",
  "--become-pass-file",
  "--tags",
  "--skip-tags",
  "--inventory",
  "--inventory-file",
  "--limit",
  "--extra-vars",
  "--vault-id",
  "--vault-password-file",
  "--vault-pass-file",
  "--forks",
  "--module-path",
  "--start-at-task",
]);
const SHORT_NAMES: Record<string, string> = { "-t": "--tags", "-l": "--limit", "-i": "--inventory" };

/** Whether the argv runs ansible-playbook (by name or path). */
export function isPlaybookArgv(argv: readonly string[]): boolean {
  return argv.length > 0 && path.basename(argv[0]!) === "ansible-playbook";
}

/** Reads an ansible-playbook argv as ansible-playbook's option parser does; undefined for another program. */
export function describePlaybookArgv(argv: readonly string[]): PlaybookCall | undefined {
  if (!isPlaybookArgv(argv)) return undefined;
  const call: PlaybookCall = { playbooks: [], tags: [], skipTags: [], limit: undefined, inventory: [] };
  const take = (option: string, value: string) => {
    const name = SHORT_NAMES[option] ?? (option === "--inventory-file" ? "--inventory" : option);
    const list = value
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean);
    if (name === "--tags") call.tags.push(...list);
    else if (name === "--skip-tags") call.skipTags.push(...list);
    else if (name === "--limit") call.limit = value;
    else if (name === "--inventory") call.inventory.push(value);
  };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      call.playbooks.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      if (eq > 0) take(arg.slice(0, eq), arg.slice(eq + 1));
      else if (LONG_WITH_VALUE.has(arg)) take(arg, argv[++i] ?? "");
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      const short = arg.slice(0, 2);
      if (SHORT_WITH_VALUE.has(short)) take(short, arg.length > 2 ? arg.slice(2) : (argv[++i] ?? ""));
      continue;
    }
    call.playbooks.push(arg);
  }
  return call;
}

/**
 * The same run, listed instead of run: every option kept (inventory, tags, skip-tags, limit, extra
 * vars, vault password file), plus `--list-tasks --list-hosts`. ansible-playbook then parses the
 * playbooks and the inventory, prints the hosts and the tasks the run would have, and connects to
 * no host.
 */
export function listTasksArgv(argv: readonly string[]): string[] {
  if (!isPlaybookArgv(argv)) throw new Error(`not an ansible-playbook command: ${argv[0] ?? "(empty)"}`);
  return [...argv, "--list-tasks", "--list-hosts"];
}

/** How a step's selection reads in messages: `infra/playbooks/x.yml --tags a,b`. */
export function selectionOf(call: PlaybookCall): string {
  return [
    call.playbooks.join(" "),
    ...(call.tags.length > 0 ? [`--tags ${call.tags.join(",")}`] : []),
    ...(call.skipTags.length > 0 ? [`--skip-tags ${call.skipTags.join(",")}`] : []),
    ...(call.limit ? [`--limit ${call.limit}`] : []),
  ].join(" ");
}
