import { resolveTarget, unreadableManifest } from "../runbook/resolve-target.js";
import { describePlan } from "../rotation/describe-plan.js";
import type { Actor } from "../model/rotation.js";
import { REFUSALS } from "../rotation/prompts.js";
import {
  currentStep,
  outageEstimate,
  rollbackByEnvironment,
  stepLabel,
  unusedCredentials,
} from "../rotation/queries.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { createPrompter } from "./create-prompter.js";
import { driveRotation } from "./drive-rotation.js";
import { showRollback } from "./show-rollback.js";
import { openEngine } from "./open-engine.js";
import { shellActor } from "./shell-actor.js";
import { checkCompromiseReason, checkIncidentReason } from "../telegram/user-text.js";
import { readCommandLine } from "./usage.js";
import { todayUtc } from "../time/calendar-date.js";
import { fail, type Result } from "../result.js";
import { compromiseChoice, describeChoice, noCompromiseOrder } from "../rotation/describe-compromise.js";
import type { StartRequest } from "../rotation/new-rotation.js";
import { parseSince } from "../time/parse-since.js";

/** Who acts (`--as`, SUDO_USER, the login user), or undefined after saying why the name is refused. */
function actorOf(command: string, io: CliIo, as: string | undefined): Actor | undefined {
  const actor = shellActor(io.env, as);
  if (actor.ok) return actor.actor;
  io.stderr(`rotabot ${command}: ${actor.message}\n`);
  return undefined;
}

/** After a shell command that audits: waits for the audit channel, and says once when it was not told. */
async function flushAudit(io: CliIo, flush: () => Promise<string | undefined>): Promise<void> {
  const notTold = await flush();
  if (notTold) io.stderr(`rotabot: ${notTold}\n`);
}

/** `rotabot rotate`: the same engine as the chat, on a terminal; the fallback when Telegram is down. */
export async function runRotateCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = readCommandLine("rotate", args, io);
  if (!parsed.ok) return parsed.exitCode;
  const incident = parsed.values.incident === undefined ? undefined : checkIncidentReason(parsed.values.incident);
  if (incident !== undefined && !incident.ok) {
    io.stderr(`rotabot rotate: ${incident.message}\n`);
    return EXIT.usage;
  }
  const compromised = compromiseOf(parsed.values, new Date());
  if (!compromised.ok) {
    io.stderr(`rotabot rotate: ${compromised.message}\n`);
    return EXIT.usage;
  }
  const compromise = compromised.compromise;
  const actor = actorOf("rotate", io, parsed.values.as);
  if (!actor) return EXIT.usage;
  const opened = await openEngine(io, parsed.values.infra);
  if (!opened.ok) {
    io.stderr(`rotabot rotate: ${opened.message}\n`);
    return EXIT.usage;
  }
  if (parsed.values.due) {
    const { runRotateDay } = await import("./rotate-day-command.js");
    try {
      return await runRotateDay(
        opened,
        {
          actor,
          yes: parsed.values.yes,
          ...(incident ? { incident: { reason: incident.reason } } : {}),
          ...breakGlassOf(parsed.values),
        },
        io,
      );
    } finally {
      await flushAudit(io, opened.flush);
    }
  }
  const name = parsed.positionals[0]!;
  const { engine, runbook, paths } = opened;
  const found = await resolveTarget(runbook, paths.manifestFile, name, todayUtc(io.now()));
  if (found.kind === "unreadable") {
    io.stderr(`rotabot rotate: ${unreadableManifest(found, "run rotabot rotate")}\n`);
    return EXIT.usage;
  }
  if (found.kind === "unknown") {
    io.stderr(
      `rotabot rotate: no procedure for ${JSON.stringify(name)}${found.lookalike ? `: ${found.lookalike}` : ""}. Known: ${found.known.join(", ")}\n`,
    );
    return EXIT.usage;
  }
  if (found.kind === "ambiguous") {
    io.stderr(`rotabot rotate: "${name}" fits several secrets; name one: ${found.keys.join(", ")}\n`);
    return EXIT.usage;
  }
  if (compromise && !found.procedure.compromise) {
    io.stderr(`rotabot rotate: ${noCompromiseOrder(found.procedure)}\n`);
    return EXIT.usage;
  }
  const { entry } = found;
  io.stdout(
    `Plan: rotate ${found.key} with "${found.procedure.title}"${entry?.lastRotation ? `, last rotated ${entry.lastRotation}` : ", never rotated"}${entry?.owner ? `, owner ${entry.owner}` : ""}\n`,
  );
  if (found.procedure.summary) io.stdout(`${found.procedure.summary}\n`);
  if (compromise) {
    io.stdout(
      `🚨 Incident: ${found.key} suspected compromised (${compromise.reason}), exposed since ${compromise.since ? compromise.since.toISOString() : "now (no --since)"}.\n`,
    );
    const choice = compromiseChoice(found.procedure, await engine.list())!;
    for (const line of describeChoice(choice)) io.stdout(`${line}\n`);
    io.stdout(
      `Chosen: the ${compromise.order} order${compromise.order === "compromise" ? " (--order routine for the other)" : ""}.\n`,
    );
  }
  engine.prepare({ procedure: found.procedure, key: found.key }); // the --list-tasks checks, while the plan is read
  const outage = outageEstimate(found.procedure, await engine.list());
  if (outage) io.stdout(`${outage}\n`);
  const environments = runbook.environments.map((e) => e.name);
  io.stdout(
    `${environments.length > 1 ? "Environments, in rollout order" : "Environment"}: ${environments.join(" → ")}\n`,
  );
  const order = compromise?.order ?? "routine";
  for (const line of describePlan(runbook, found.procedure, { key: found.key, paths }, order)) {
    io.stdout(
      `  ${String(line.index).padStart(2)}. ${line.destructive ? "⚠ " : ""}${stepLabel(line, environments)}${line.destructive ? " (cannot be undone)" : ""}\n${line.detail ? `        ${line.detail}\n` : ""}${line.seed ? `        the seed runbook says: ${line.seed}\n` : ""}${line.note ? `        why: ${line.note}\n` : ""}`,
    );
  }
  const prompter = createPrompter(process.stdin, process.stdout, io.stopSignal);
  try {
    if (!parsed.values.yes) {
      const answer = await prompter.ask("Start this rotation? Type yes: ");
      if (answer?.trim().toLowerCase() !== "yes") {
        const signal = prompter.stoppedBy();
        io.stdout(`${signal ? `\nStopped by ${signal}. ` : ""}Not started.\n`);
        return EXIT.attention;
      }
    }
    const start = async () => {
      const started = await engine.start({
        procedure: found.procedure,
        key: found.key,
        initiator: actor,
        ...(incident ? { incident: { reason: incident.reason } } : {}),
        ...(compromise ? { incident: { reason: compromise.reason }, compromise } : {}),
        owner: entry?.owner ?? undefined,
      });
      if (started.ok) io.stdout(`Rotation ${started.rotation.id} started.\n`);
      else io.stderr(`rotabot rotate: ${started.message}\n`);
      return started;
    };
    return await driveRotation(engine, start, prompter, actor, io.stdout, {
      ...breakGlassOf(parsed.values),
      stop: io.stopSignal,
      graceMs: opened.config.shutdownGraceMs,
    });
  } finally {
    prompter.close();
    await flushAudit(io, opened.flush);
  }
}

/** `--compromised REASON [--since TIME] [--order compromise|routine]`, checked; each refusal names the fix. */
function compromiseOf(
  values: {
    compromised?: string | undefined;
    since?: string | undefined;
    order?: string | undefined;
    incident?: string | undefined;
  },
  now: Date,
): Result<{ compromise: StartRequest["compromise"] }, "usage"> {
  if (values.compromised === undefined) {
    const stray = values.since !== undefined ? "--since" : values.order !== undefined ? "--order" : undefined;
    return stray
      ? fail("usage", `${stray} belongs to a compromised secret: add --compromised "<reason>"`)
      : { ok: true, compromise: undefined };
  }
  if (values.incident !== undefined)
    return fail("usage", "--compromised is already an incident: give its reason once, with --compromised alone");
  const reason = checkCompromiseReason(values.compromised, '--compromised "token pasted in a public channel, INC-51"');
  if (!reason.ok) return fail("usage", reason.message);
  const since = values.since === undefined ? undefined : parseSince(values.since, now);
  if (since && !since.ok) return fail("usage", `--since: ${since.message}`);
  const order = values.order ?? "compromise";
  if (order !== "compromise" && order !== "routine")
    return fail("usage", `--order is compromise or routine, not "${order.slice(0, 20)}"`);
  return { ok: true, compromise: { reason: reason.reason, since: since?.since, order } };
}

export async function runStatusCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = readCommandLine("status", args, io);
  if (!parsed.ok) return parsed.exitCode;
  const opened = await openEngine(io, parsed.values.infra);
  if (!opened.ok) {
    io.stderr(`rotabot status: ${opened.message}\n`);
    return EXIT.usage;
  }
  const active = await opened.engine.active();
  const damaged = await opened.engine.damaged();
  // What could be read is listed; a journal that could not be written is named with its fix.
  for (const [, message] of opened.engine.writeFailures()) io.stdout(`⚠ ${message}\n`);
  const left = await opened.engine.leftOutside();
  for (const d of damaged) io.stdout(`${REFUSALS.damaged(d.id, d.problem)}\n`);
  if (active.length === 0 && damaged.length === 0) io.stdout("No rotation in flight.\n");
  for (const rotation of active) {
    const step = currentStep(rotation);
    const rollback =
      rotation.state === "rollback_failed"
        ? rollbackByEnvironment(rotation)
            .map((line) => `\n  ${line}`)
            .join("")
        : "";
    io.stdout(
      `${rotation.id}  ${rotation.key}  ${rotation.state}  by ${rotation.initiator.name} since ${rotation.createdAt}\n  at: ${step?.title ?? "-"}${step?.environment ? ` (in ${step.environment})` : ""}${rotation.awaiting ? `\n  waiting for: ${rotation.awaiting.kind}` : ""}${rollback}${rotation.message ? `\n  ${rotation.message}` : ""}\n`,
    );
  }
  for (const rotation of left)
    io.stdout(
      `${rotation.id}  ${rotation.key}  ${rotation.state}: credentials created for it are still valid: ${unusedCredentials(
        rotation,
      )
        .map((c) => c.revoke)
        .join("; ")} (press Revoked in the chat's /status once done)\n`,
    );
  return EXIT.ok;
}

/** Parses `<command> <rotation-id>` and opens the engine; an exit code after printing why not. */
async function openForRotation(command: "resume" | "abort", args: string[], io: CliIo) {
  const parsed = readCommandLine(command, args, io);
  if (!parsed.ok) return { ok: false as const, exitCode: parsed.exitCode };
  const id = parsed.positionals[0]!;
  const actor = actorOf(command, io, parsed.values.as);
  if (!actor) return { ok: false as const, exitCode: EXIT.usage };
  const opened = await openEngine(io, parsed.values.infra);
  if (!opened.ok) {
    io.stderr(`rotabot ${command}: ${opened.message}\n`);
    return { ok: false as const, exitCode: EXIT.usage };
  }
  return {
    ok: true as const,
    id,
    actor,
    engine: opened.engine,
    flush: opened.flush,
    values: parsed.values,
    graceMs: opened.config.shutdownGraceMs,
  };
}

export async function runResumeCommand(args: string[], io: CliIo): Promise<number> {
  const opened = await openForRotation("resume", args, io);
  if (!opened.ok) return opened.exitCode;
  const resume = async () => {
    const resumed = await opened.engine.resume(opened.id);
    if (!resumed.ok) io.stderr(`rotabot resume: ${resumed.message}\n`);
    return resumed;
  };
  const prompter = createPrompter(process.stdin, process.stdout, io.stopSignal);
  try {
    return await driveRotation(opened.engine, resume, prompter, opened.actor, io.stdout, {
      ...breakGlassOf(opened.values),
      stop: io.stopSignal,
      graceMs: opened.graceMs,
    });
  } finally {
    prompter.close();
    await flushAudit(io, opened.flush);
  }
}

/**
 * `rotabot abort <id> [--retry-rollback]`: the engine returns once the abort is journaled; the
 * shell shows each rollback step, waits for the end and prints it. Exit 0 only when aborted.
 */
export async function runAbortCommand(args: string[], io: CliIo): Promise<number> {
  const opened = await openForRotation("abort", args, io);
  if (!opened.ok) return opened.exitCode;
  const off = opened.engine.on((event) => {
    if (event.rotation.id === opened.id) showRollback(event, io.stdout);
  });
  try {
    const aborted = await opened.engine.abort(opened.id, opened.actor, {
      retryRollback: (opened.values as { "retry-rollback"?: boolean })["retry-rollback"] === true,
    });
    if (!aborted.ok) {
      io.stderr(`rotabot abort: ${aborted.message}\n`);
      return EXIT.attention;
    }
    const ended = await opened.engine.settled(opened.id);
    io.stdout(`${ended?.message ?? ended?.state ?? "aborted"}\n`);
    return ended?.state === "aborted" ? EXIT.ok : EXIT.attention;
  } finally {
    off();
    await flushAudit(io, opened.flush);
  }
}

/** `--break-glass "<reason>"`: the initiator alone may answer where the two-person rule asks for two (audited). */
function breakGlassOf(values: Readonly<Record<string, unknown>>): { breakGlass?: string } {
  const given = values["break-glass"];
  const reason = typeof given === "string" ? given.trim() : undefined;
  return reason ? { breakGlass: reason } : {};
}
