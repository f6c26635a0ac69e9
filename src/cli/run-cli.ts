import { EXIT, type CliIo } from "./cli-io.js";
import { COMMAND_LINES, readCommandLine, type CommandName } from "./usage.js";

type RunCommand = (args: string[], io: CliIo) => Promise<number>;

/**
 * Every command, loaded only when it runs: `--version`, `--help` and `age` then start without
 * grammY, pg, the NATS client or the sandbox (start-up time and memory of every cron run).
 */
const COMMANDS = {
  start: {
    load: async () => (await import("./start-command.js")).runStartCommand,
    summary: "run the Telegram bot (long polling) until SIGINT/SIGTERM",
  },
  age: {
    load: async () => (await import("./age-command.js")).runAgeCommand,
    summary: "report secret ages from the manifest (table or --json; exit 1 when action is needed)",
  },
  rotate: {
    load: async () => (await import("./rotate-commands.js")).runRotateCommand,
    summary: "rotate a secret on this terminal (the fallback when Telegram is down)",
  },
  status: {
    load: async () => (await import("./rotate-commands.js")).runStatusCommand,
    summary: "list rotations in flight",
  },
  history: {
    load: async () => (await import("./history-command.js")).runHistoryCommand,
    summary: "list the latest rotations, with the exposure window of compromise rotations",
  },
  timeline: {
    load: async () => (await import("./history-command.js")).runTimelineCommand,
    summary: "a rotation's timeline for a post-mortem (--markdown), from its journal and the audit log",
  },
  resume: {
    load: async () => (await import("./rotate-commands.js")).runResumeCommand,
    summary: "continue an interrupted or waiting rotation",
  },
  abort: {
    load: async () => (await import("./rotate-commands.js")).runAbortCommand,
    summary: "abort a rotation before its point of no return",
  },
  audit: {
    load: async () => (await import("./audit-command.js")).runAuditCommand,
    summary: "verify the hash-chained audit log (audit verify), or restart a damaged one (audit reseal)",
  },
  doctor: {
    load: async () => (await import("./doctor-command.js")).runDoctorCommand,
    summary: "check tools, files, vault, manifest, STATE_DIR and Telegram, each with a fix",
  },
  preflight: {
    load: async () => (await import("./preflight-command.js")).runPreflightCommand,
    summary: "rehearse a rotation on the real estate (--check --diff, connections, refusals); changes nothing",
  },
  sandbox: {
    load: async () => (await import("./sandbox-command.js")).runSandboxCommand,
    summary: "rehearse rotations: staging in a box (real PostgreSQL, NATS, playbooks) and a web chat",
  },
} as const satisfies Record<string, { load: () => Promise<RunCommand>; summary: string }>;

/** The full help, from the light usage module (none of the commands is loaded). */
function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(8)} ${summary}`);
  const synopses = Object.values(COMMAND_LINES).map(({ usage }) => `  ${usage.split("\n")[0]!.replace("Usage: ", "")}`);
  return `Usage: rotabot <command> [options]\n\nCommands:\n${lines.join("\n")}\n\n${synopses.join("\n")}\n\nrotabot <command> --help shows a command's options. Settings come from the environment or ./.env (see .env.example).\n`;
}

/** Dispatches `rotabot <command>`; returns the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "version") {
    io.stdout(`${io.version}\n`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as keyof typeof COMMANDS] : undefined;
  if (!command) {
    io.stderr(
      `rotabot: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(", ")}. Run rotabot --help.\n`,
    );
    return EXIT.usage;
  }
  // Every command's arguments are checked here, before it loads or opens anything.
  const line = readCommandLine(name as CommandName, args, io);
  if (!line.ok) return line.exitCode;
  const run = await command.load();
  return run(args, io);
}
