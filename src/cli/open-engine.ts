import { createApp } from "../app/create-app.js";
import { readManifest } from "../manifest/read-manifest.js";
import { todayUtc } from "../time/calendar-date.js";
import type { CliIo } from "./cli-io.js";

/** The composition root for the shell commands, plus the manifest's entries; problems come back as one message. */
export async function openEngine(io: CliIo, infraOverride?: string) {
  const opened = await createApp(io, { purpose: "cli", infraOverride });
  if (!opened.ok) return { ok: false as const, message: opened.message };
  const { app } = opened;
  if (!app.auditLog.state.ok) io.stderr(`rotabot: ${app.auditLog.state.message}\n`);
  const manifest = await readManifest(app.paths.manifestFile, {
    categories: new Set(Object.keys(app.runbook.policies)),
    asOf: todayUtc(io.now()),
  });
  await app.engine.recover();
  return { ok: true as const, ...app, entries: manifest.ok ? manifest.entries : [] };
}
