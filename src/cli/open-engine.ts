import { createAuditLog } from "../audit/audit-log.js";
import { auditRotationEvents } from "../audit/audit-rotation-events.js";
import { createAudit } from "../audit/create-audit.js";
import { createCrashPoints } from "../fs/crash-points.js";
import { ConfigError, parseConfig } from "../config/parse-config.js";
import { createLogger } from "../logging/create-logger.js";
import { createRedactor } from "../logging/redactor.js";
import { MANIFEST_PATH, readManifest } from "../manifest/read-manifest.js";
import path from "node:path";
import { todayUtc } from "../age/calendar-date.js";
import { loadRunbook } from "../runbook/load-runbook.js";
import { buildEngine } from "../rotation/build-engine.js";
import type { CliIo } from "./cli-io.js";

/** Config, runbook, manifest and engine for the shell commands; problems come back as one message. */
export async function openEngine(io: CliIo, infraOverride?: string) {
  let config;
  try {
    config = parseConfig(infraOverride ? { ...io.env, INFRA_DIR: infraOverride } : io.env, {
      purpose: "cli",
      packageRoot: io.packageRoot,
    });
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false as const, message: error.message };
    throw error;
  }
  const infraDir = config.infraDir;
  if (infraDir === undefined)
    return {
      ok: false as const,
      message: "INFRA_DIR is not set: set it (or pass --infra DIR) to the Akira infra checkout",
    };
  const loaded = await loadRunbook(config.runbookFile);
  if (!loaded.ok)
    return { ok: false as const, message: `the runbook is not valid:\n  ${loaded.problems.join("\n  ")}` };
  const redactor = createRedactor(config.botToken ? [config.botToken] : []);
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    redactor,
    stream: { write: (line: string) => io.stderr(line) },
  });
  const manifest = await readManifest(path.join(infraDir, MANIFEST_PATH), {
    categories: new Set(Object.keys(loaded.runbook.policies)),
    asOf: todayUtc(io.now()),
  });
  const { engine } = buildEngine({
    config: { ...config, infraDir },
    runbook: loaded.runbook,
    logger,
    redactor,
    env: io.env,
    now: io.now,
  });
  // Shell rotations are audited too: into the same hash-chained log (the channel is the bot's).
  const auditLog = createAuditLog(config.stateDir, io.now, { crash: createCrashPoints(config.crashAt) });
  auditRotationEvents(engine, createAudit({ log: auditLog, logger }));
  await engine.recover();
  return { ok: true as const, engine, runbook: loaded.runbook, entries: manifest.ok ? manifest.entries : [], redactor };
}
