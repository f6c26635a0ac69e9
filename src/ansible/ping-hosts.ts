import type { CommandResult, CommandSpec } from "../exec/create-command-runner.js";

/** Whether ansible could log in to a host and run a module there. */
export interface HostReach {
  host: string;
  ok: boolean;
  /** ansible's own words when it could not (UNREACHABLE!, FAILED!). */
  message: string;
}

const ANSI = new RegExp(String.raw`\u001b\[[0-9;]*m`, "g");
const LINE = /^(\S+) \| (SUCCESS|CHANGED|UNREACHABLE!|FAILED!)(?: => |: )?(.*)$/;

/**
 * `ansible -i <inventory> <hosts> -m ansible.builtin.ping -o`: logs in to each host the way the
 * playbooks will (SSH, the inventory's user and key, become not needed) and runs a module there.
 * The vault password file is passed because group_vars may be encrypted.
 */
export async function pingHosts(
  {
    inventory,
    hosts,
    vaultPasswordFile,
  }: { inventory: string | undefined; hosts: readonly string[]; vaultPasswordFile?: string },
  deps: { runCommand: (spec: CommandSpec) => Promise<CommandResult>; timeoutMs?: number },
): Promise<HostReach[]> {
  const lines: string[] = [];
  const result = await deps.runCommand({
    argv: [
      "ansible",
      ...(inventory ? ["-i", inventory] : []),
      hosts.join(","),
      "-m",
      "ansible.builtin.ping",
      "-o",
      ...(vaultPasswordFile ? ["--vault-password-file", vaultPasswordFile] : []),
    ],
    timeoutMs: deps.timeoutMs ?? 120_000,
    onLine: (line) => lines.push(line.replace(ANSI, "")),
  });
  const seen = new Map<string, HostReach>();
  for (const line of lines) {
    const m = LINE.exec(line);
    if (m && hosts.includes(m[1]!)) {
      const ok = m[2] === "SUCCESS" || m[2] === "CHANGED";
      const detail = (/"msg": "((?:[^"\\]|\\.)*)"/.exec(m[3] ?? "")?.[1] ?? m[3] ?? "").trim();
      seen.set(m[1]!, { host: m[1]!, ok, message: ok ? "" : `${m[2]} ${detail}`.trim() });
    }
  }
  const error = lines.filter((l) => /^(ERROR!|\[ERROR\])/.test(l)).at(-1);
  return hosts.map(
    (host) =>
      seen.get(host) ?? {
        host,
        ok: false,
        message: error ?? (result.ok ? "ansible gave no answer for this host" : result.message),
      },
  );
}
