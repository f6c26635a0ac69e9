import { EXIT, type CliIo } from "./cli-io.js";
import { SANDBOX_USAGE } from "./sandbox-usage.js";

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
  sandbox: {
    load: async () => (await import("./sandbox-command.js")).runSandboxCommand,
    summary: "rehearse rotations: staging in a box (real PostgreSQL, NATS, playbooks) and a web chat",
  },
} as const satisfies Record<string, { load: () => Promise<RunCommand>; summary: string }>;

/** The full help; loads only the modules that hold the option texts (none of them loads grammY, pg or NATS). */
async function usage(): Promise<string> {
  const [{ AGE_USAGE }, { ROTATE_USAGE }, { AUDIT_USAGE }, { DOCTOR_USAGE }] = await Promise.all([
    import("./age-command.js"),
    import("./rotate-commands.js"),
    import("./audit-command.js"),
    import("./doctor-command.js"),
  ]);
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(8)} ${summary}`);
  return `Usage: rotabot <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nrotabot <command> --help shows a command's options. Settings come from the environment or ./.env (see .env.example).\n\n${AGE_USAGE}\n\n${ROTATE_USAGE}\n\n${AUDIT_USAGE}\n${DOCTOR_USAGE}\n${SANDBOX_USAGE}\n`;
}

/** Dispatches `rotabot <command>`; returns the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(await usage());
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
  const run = await command.load();
  return run(args, io);
}
