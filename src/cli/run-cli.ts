import { AGE_USAGE, runAgeCommand } from "./age-command.js";
import { AUDIT_USAGE, runAuditCommand } from "./audit-command.js";
import { DOCTOR_USAGE, runDoctorCommand } from "./doctor-command.js";
import { EXIT, type CliIo } from "./cli-io.js";
import {
  ROTATE_USAGE,
  runAbortCommand,
  runResumeCommand,
  runRotateCommand,
  runStatusCommand,
} from "./rotate-commands.js";
import { runSandboxCommand, SANDBOX_USAGE } from "./sandbox-command.js";
import { runStartCommand } from "./start-command.js";

const COMMANDS = {
  start: { run: runStartCommand, summary: "run the Telegram bot (long polling) until SIGINT/SIGTERM" },
  age: {
    run: runAgeCommand,
    summary: "report secret ages from the manifest (table or --json; exit 1 when action is needed)",
  },
  rotate: { run: runRotateCommand, summary: "rotate a secret on this terminal (the fallback when Telegram is down)" },
  status: { run: runStatusCommand, summary: "list rotations in flight" },
  resume: { run: runResumeCommand, summary: "continue an interrupted or waiting rotation" },
  abort: { run: runAbortCommand, summary: "abort a rotation before its point of no return" },
  audit: {
    run: runAuditCommand,
    summary: "verify the hash-chained audit log (audit verify), or restart a damaged one (audit reseal)",
  },
  doctor: {
    run: runDoctorCommand,
    summary: "check tools, files, vault, manifest, STATE_DIR and Telegram, each with a fix",
  },
  sandbox: {
    run: runSandboxCommand,
    summary: "rehearse rotations: staging in a box (real PostgreSQL, NATS, playbooks) and a web chat",
  },
} as const satisfies Record<string, { run: (args: string[], io: CliIo) => Promise<number>; summary: string }>;

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(8)} ${summary}`);
  return `Usage: rotabot <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nrotabot <command> --help shows a command's options. Settings come from the environment or ./.env (see .env.example).\n\n${AGE_USAGE}\n\n${ROTATE_USAGE}\n\n${AUDIT_USAGE}\n${DOCTOR_USAGE}\n${SANDBOX_USAGE}\n`;
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
  return command.run(args, io);
}
