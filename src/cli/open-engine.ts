import { createApp } from "../app/create-app.js";
import type { CliIo } from "./cli-io.js";

/** The composition root for the shell commands; problems come back as one message. */
export async function openEngine(io: CliIo, infraOverride?: string) {
  const opened = await createApp(io, { purpose: "cli", infraOverride });
  if (!opened.ok) return { ok: false as const, message: opened.message };
  const { app } = opened;
  if (!app.auditLog.state.ok) io.stderr(`rotabot: ${app.auditLog.state.message}\n`);
  await app.engine.recover();
  return { ok: true as const, ...app };
}
