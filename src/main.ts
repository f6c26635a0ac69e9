#!/usr/bin/env node
import path from "node:path";
import { fileURLToPath } from "node:url";
import { formatVersion, readBuildInfo } from "./build-info.js";
import { runCli } from "./cli/run-cli.js";
import { withEnvFile } from "./config/load-env-file.js";

const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
// The version and the commit it was built from (dist/build-info.json, written by `npm run build`).
const version = formatVersion(readBuildInfo(packageRoot));

const stopSignal = new Promise<string>((resolve) => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve(signal));
});

/** The settings file: ROTABOT_ENV_FILE (`-` for standard input) when set, else ./.env if present. */
function readEnvironment(): Record<string, string | undefined> {
  const chosen = process.env.ROTABOT_ENV_FILE;
  if (chosen === undefined || chosen === "") return withEnvFile(process.env, path.join(process.cwd(), ".env"));
  try {
    return withEnvFile(process.env, chosen === "-" ? 0 : chosen, { required: true });
  } catch (error) {
    process.stderr.write(
      `rotabot: cannot read ROTABOT_ENV_FILE=${chosen}: ${(error as Error).message}. Point it at the settings file (see .env.example) or unset it.\n`,
    );
    process.exit(2);
  }
}

// A reader that went away (`rotabot age --json | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: readEnvironment(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  packageRoot,
  version,
  now: () => new Date(),
  stopSignal,
});
// Everything written must reach a pipe before the process ends (`rotabot age --json | jq`), and
// timers of libraries (retry back-offs, keep-alive sockets) must not hold it open: wait for the
// output to drain, then exit.
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit();

/** Resolves once everything written so far has been handed to the OS (or the reader is gone). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
