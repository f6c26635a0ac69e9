#!/usr/bin/env node
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./cli/run-cli.js";
import { withEnvFile } from "./config/load-env-file.js";

const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
const { version } = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string };

const stopSignal = new Promise<string>((resolve) => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve(signal));
});

process.exitCode = await runCli(process.argv.slice(2), {
  env: withEnvFile(process.env, path.join(process.cwd(), ".env")),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  packageRoot,
  version,
  now: () => new Date(),
  stopSignal,
});
// Timers of libraries (retry back-offs, keep-alive sockets) must not hold the process open.
process.exit();
