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

process.exitCode = await runCli(process.argv.slice(2), {
  env: readEnvironment(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  packageRoot,
  version,
  now: () => new Date(),
  stopSignal,
});
// Timers of libraries (retry back-offs, keep-alive sockets) must not hold the process open.
process.exit();
