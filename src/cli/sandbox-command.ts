import { spawn } from "node:child_process";
import { createWriteStream, existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { execa } from "execa";
import { startStagingBox, type StagingBox } from "../sandbox/start-staging-box.js";
import { startWebChat } from "../sandbox/web-chat/create-web-chat.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { waitForReady } from "./signal-ready.js";
import { readCommandLine, SANDBOX_USAGE } from "./usage.js";

const NEEDED = [
  { tool: "ansible-playbook", package: "ansible-core" },
  { tool: "nats-server", package: "nats-server" },
  { tool: "git", package: "git" },
  { tool: "/usr/lib/postgresql/15/bin/initdb", package: "postgresql-15" },
];

/**
 * `rotabot sandbox`: brings up staging in a box (real PostgreSQL and NATS, the infra's real
 * playbooks, local stand-ins for Telegram, SignalWire and Sentry), runs `rotabot start` against
 * it, and serves a web chat to rehearse rotations in. Stays up until SIGINT/SIGTERM, then stops
 * everything it started and removes its folders.
 */
export async function runSandboxCommand(args: string[], io: CliIo): Promise<number> {
  const line = readCommandLine("sandbox", args, io);
  if (!line.ok) return line.exitCode;
  const port = Number(line.values.port);
  if (!/^\d{1,5}$/.test(line.values.port) || port > 65_535) {
    io.stderr(
      `rotabot sandbox: --port must be a port number (0-65535), not ${JSON.stringify(line.values.port)}\n\n${SANDBOX_USAGE}\n`,
    );
    return EXIT.usage;
  }
  if (port !== 0 && !(await portIsFree(port))) {
    io.stderr(
      `rotabot sandbox: port ${port} on 127.0.0.1 is taken; choose another with --port, e.g. rotabot sandbox --port ${port + 1}\n`,
    );
    return EXIT.usage;
  }
  const missing = [];
  for (const need of NEEDED) {
    const found = need.tool.startsWith("/")
      ? existsSync(need.tool)
      : (await execa("sh", ["-c", `command -v ${need.tool}`], { reject: false })).exitCode === 0;
    if (!found) missing.push(need.package);
  }
  if (missing.length > 0) {
    io.stderr(
      `rotabot sandbox needs ${missing.join(", ")}: run \`bash scripts/install-system-packages.sh\` (Debian 12, as root) or apt-get install ${missing.join(" ")}, then start it again.\n`,
    );
    return EXIT.usage;
  }

  const say = (line: string) => io.stdout(`• ${line}\n`);
  let box: StagingBox | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    box = await startStagingBox({ packageRoot: io.packageRoot, env: io.env, say, today: io.now() });
    const started = box;
    cleanups.push(() => started.stop());

    say("starting rotabot against the box");
    const logFile = path.join(box.root, "rotabot.log");
    const log = createWriteStream(logFile);
    const readyFile = path.join(box.root, "rotabot.ready");
    const bot = spawn(process.execPath, [path.join(io.packageRoot, "dist/src/main.js"), "start"], {
      env: { ...box.rotabotEnv, READY_FILE: readyFile },
      cwd: box.infraDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    bot.stdout.pipe(log);
    bot.stderr.pipe(log);
    const botExited = new Promise<number | null>((resolve) => bot.once("exit", resolve));
    cleanups.push(async () => {
      if (bot.exitCode === null) bot.kill("SIGTERM");
      await botExited;
    });
    await Promise.race([
      waitForReady(readyFile, bot.pid!, 30_000).then((ready) => {
        if (!ready) throw new Error(`rotabot did not say it was ready (READY_FILE) within 30 s; see ${logFile}`);
      }),
      botExited.then((code) => Promise.reject(new Error(`rotabot exited (${code}) while starting; see ${logFile}`))),
    ]);

    const web = await startWebChat({ box, port });
    cleanups.push(() => web.close());
    const cli = cliSettings(box.rotabotEnv, io.env);
    const envFile = path.join(box.root, "rotabot.env");
    writeFileSync(envFile, cli.envFile, { mode: 0o600 });
    io.stdout(`
rotabot sandbox is up: open ${web.url}

  You are Alice, an operator, in the Akira Ops group. Try /age, then /rotate telegram,
  /rotate postgres, /rotate nats, /rotate signalwire, /rotate sentry or /rotate api-token.
  Tokens are asked for in your private chat; BotFather, the SignalWire dashboard and Sentry
  are in the right-hand column.

  Infra checkout: ${box.infraDir}   (git log shows the rotation commits)
  rotabot log:    ${logFile}

  The shell against this box, in another terminal (rotabot status, doctor, rotate, resume, audit verify):
    export ROTABOT_ENV_FILE=${shellQuote(envFile)}   # every setting below, and the bot's token
${cli.exports.map((line) => `    ${line}\n`).join("")}
  Ctrl-C stops everything and removes ${box.root}.
`);
    const outcome = await Promise.race([
      io.stopSignal.then(() => "signal" as const),
      botExited.then(() => "bot" as const),
    ]);
    if (outcome === "bot") io.stderr(`rotabot stopped unexpectedly; see ${logFile} (the sandbox is being removed).\n`);
    return outcome === "signal" ? EXIT.ok : EXIT.attention;
  } catch (error) {
    io.stderr(`rotabot sandbox could not start: ${(error as Error).message}\n`);
    return EXIT.attention;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (box) io.stdout(`rotabot sandbox stopped; ${box.root} removed.\n`);
  }
}

/**
 * What points `rotabot status`, `doctor` or `rotate` in another terminal at the box: an env file
 * with every setting the bot runs with (its token included: only the file holds it, mode 0600),
 * and the export lines of the settings that differ from this terminal's (the bot token left out;
 * PATH gains the box's `docker`, which execs into its NATS).
 */
function cliSettings(
  rotabotEnv: Readonly<Record<string, string>>,
  here: Readonly<Record<string, string | undefined>>,
): { envFile: string; exports: string[] } {
  const own = Object.entries(rotabotEnv).filter(
    ([key, value]) => key !== "HOME" && key !== "PATH" && here[key] !== value,
  );
  const envFile = own.map(([key, value]) => `${key}=${shellQuote(value)}\n`).join("");
  const exports = own
    .filter(([key]) => key !== "BOT_TOKEN")
    .map(([key, value]) => `export ${key}=${shellQuote(value)}`);
  const herePath = here.PATH ?? "";
  const boxPath = rotabotEnv.PATH ?? "";
  if (herePath !== "" && boxPath.endsWith(`:${herePath}`))
    exports.unshift(`export PATH=${shellQuote(boxPath.slice(0, -herePath.length - 1))}:"$PATH"`);
  else if (boxPath !== "") exports.unshift(`export PATH=${shellQuote(boxPath)}`);
  return { envFile, exports };
}

/** A word the shell (and an env file) reads back as it is: bare when safe, else in single quotes. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}
