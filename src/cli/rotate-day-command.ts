import { StateWriteError } from "../fs/state-write-error.js";
import type { Actor, Awaiting, OperatorResponse } from "../model/rotation.js";
import { readManifest } from "../manifest/read-manifest.js";
import { unreadableManifest } from "../runbook/resolve-target.js";
import { isTerminal } from "../rotation/queries.js";
import { createDayJournal, newDayId, type Day, type DayEntry } from "../rotation-day/create-day-journal.js";
import { describeDayEnd, describeDayEntries, describeDayPlan } from "../rotation-day/describe-day.js";
import { heldFor, holdValue, unusedHeldWarnings, upFrontAsks, type HeldValue } from "../rotation-day/held-values.js";
import { planDay, type DayItem } from "../rotation-day/plan-day.js";
import { runDay, type DriveOutcome } from "../rotation-day/run-day.js";
import { todayUtc } from "../time/calendar-date.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { createPrompter, type Prompter } from "./create-prompter.js";
import { driveRotation } from "./drive-rotation.js";
import type { openEngine } from "./open-engine.js";

type Opened = Extract<Awaited<ReturnType<typeof openEngine>>, { ok: true }>;

export interface DayCommandOptions {
  actor: Actor;
  yes: boolean;
  incident?: { reason: string };
  breakGlass?: string;
}

/**
 * `rotabot rotate --due`: a rotation day. Plans every secret overdue or never rotated in the
 * runbook's order, asks once, asks up front for the credentials made by hand that the procedure
 * allows (held in memory, never written before their rotation's turn), then runs the rotations one
 * after another on the engine; a failure offers Retry / Skip / Abort. One summary at the end. An
 * unfinished day (a crash, a signal) is resumed by running it again.
 */
export async function runRotateDay(opened: Opened, options: DayCommandOptions, io: CliIo): Promise<number> {
  // The day plans from the whole manifest: an unreadable one is named with its fix, never planned as empty.
  const manifest = await readManifest(opened.paths.manifestFile, {
    categories: new Set(Object.keys(opened.runbook.policies)),
    asOf: todayUtc(io.now()),
  });
  if (!manifest.ok) {
    const problems = manifest.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("; ");
    io.stderr(`rotabot rotate: ${unreadableManifest({ kind: "unreadable", problems }, "run rotabot rotate --due")}\n`);
    return EXIT.usage;
  }
  const { entries } = manifest;
  const journal = createDayJournal(opened.config.stateDir);
  const prompter = createPrompter(process.stdin, process.stdout, io.stopSignal);
  try {
    let day = await journal.unfinished();
    const held: HeldValue[] = [];
    if (day) {
      io.stdout(`Resuming rotation day ${day.id}, started ${day.createdAt} by ${day.initiator.name}:\n`);
      for (const line of describeDayEntries(day)) io.stdout(`  ${line}\n`);
    } else {
      const plan = planDay(opened.runbook, entries, todayUtc(io.now()));
      if (plan.items.length === 0) {
        io.stdout(
          `Nothing is overdue or never rotated: no rotation day needed (rotabot age shows what is due soon).\n`,
        );
        for (const line of describeDayPlan(plan)) io.stdout(`${line}\n`);
        return plan.withoutProcedure.length > 0 ? EXIT.attention : EXIT.ok;
      }
      io.stdout(
        `Rotation day: ${plan.items.length} secret${plan.items.length === 1 ? "" : "s"} due, run one after another in the runbook's order:\n`,
      );
      for (const line of describeDayPlan(plan)) io.stdout(`${line}\n`);
      for (const item of plan.items) opened.engine.prepare({ procedure: item.procedure, key: item.key });
      if (!options.yes) {
        const answer = await prompter.ask("Start the rotation day? Type yes: ");
        if (answer?.trim().toLowerCase() !== "yes") {
          const signal = prompter.stoppedBy();
          io.stdout(`${signal ? `\nStopped by ${signal}. ` : ""}Not started.\n`);
          return EXIT.attention;
        }
      }
      const collected = await collectUpFront(plan.items, prompter, opened, io);
      if (collected === undefined) {
        io.stdout(`\nStopped before the first rotation; nothing was changed. Not started.\n`);
        return EXIT.attention;
      }
      held.push(...collected);
      day = {
        version: 1,
        id: newDayId(io.now()),
        initiator: options.actor,
        createdAt: io.now().toISOString(),
        state: "running",
        entries: plan.items.map((item) => ({ key: item.key, procedureId: item.procedure.id, outcome: "pending" })),
      };
      io.stdout(`Rotation day ${day.id} started.\n`);
    }
    const ended = await runDay(
      {
        engine: opened.engine,
        journal,
        runbook: opened.runbook,
        now: io.now,
        request: (entry) => ({
          initiator: options.actor,
          ...(options.incident ? { incident: options.incident } : {}),
          owner: entries.find((e) => e.key === entry.key)?.owner ?? undefined,
        }),
        drive: (entry, begin) => driveEntry(entry, begin, { opened, options, prompter, held, io, day }),
      },
      day,
    );
    io.stdout(`\nRotation day ${ended.id}:\n`);
    for (const line of describeDayEntries(ended)) io.stdout(`  ${line}\n`);
    for (const warning of unusedHeldWarnings(held, "you")) io.stdout(`${warning}\n`);
    if (ended.state === "running") {
      io.stdout(`The day is not over. Continue it with: rotabot rotate --due\n`);
      return EXIT.attention;
    }
    io.stdout(`${describeDayEnd(ended)}\n`);
    return ended.entries.every((e) => e.outcome === "completed") ? EXIT.ok : EXIT.attention;
  } catch (error) {
    if (!(error instanceof StateWriteError)) throw error;
    io.stderr(`rotabot rotate: ${error.message}\n`);
    return EXIT.attention;
  } finally {
    prompter.close();
  }
}

/** Drives one rotation of the day on the terminal; Skip and Abort come back as the day's decision. */
async function driveEntry(
  entry: DayEntry,
  begin: Parameters<Parameters<typeof runDay>[0]["drive"]>[1],
  {
    opened,
    options,
    prompter,
    held,
    io,
    day,
  }: { opened: Opened; options: DayCommandOptions; prompter: Prompter; held: HeldValue[]; io: CliIo; day: Day },
): Promise<DriveOutcome> {
  if (prompter.stoppedBy()) return { stopped: true };
  const position = day.entries.indexOf(entry) + 1;
  io.stdout(`\n── ${position}/${day.entries.length} ${entry.key} ──\n`);
  let choice: "skip" | "abort" | undefined;
  const announced = async () => {
    const resuming = entry.rotationId !== undefined;
    const begun = await begin();
    if (begun.ok) io.stdout(`Rotation ${begun.rotation.id} ${resuming ? "resumed" : "started"}.\n`);
    else io.stderr(`rotabot rotate: ${entry.key}: ${begun.message}\n`);
    return begun;
  };
  await driveRotation(opened.engine, announced, prompter, options.actor, io.stdout, {
    ...(options.breakGlass ? { breakGlass: options.breakGlass } : {}),
    stop: io.stopSignal,
    graceMs: opened.config.shutdownGraceMs,
    day: {
      onChoice: (picked) => (choice = picked),
      held: (awaiting: Awaiting): OperatorResponse | undefined => {
        const value = heldFor(held, entry.key, awaiting.stepId);
        if (awaiting.kind !== "collect" || !value) return undefined;
        value.used = true;
        return { type: "collect", value: value.value };
      },
    },
  });
  const rotation = entry.rotationId === undefined ? undefined : await opened.engine.get(entry.rotationId);
  if (!rotation || !isTerminal(rotation)) return { stopped: entry.outcome !== "not_started" };
  return { stopped: false, skip: choice === "skip", abortDay: choice === "abort" };
}

/**
 * Asks, before the first rotation, for every credential made by hand whose procedure allows it
 * (a collect step with no manual step before it). Each is format-checked and taught to the
 * redactor at once, then held in memory: the vault gets it only when its own rotation asks, after
 * that rotation claimed the vault. An empty answer leaves it to be asked at its turn. Undefined
 * when the input ended or a signal came.
 */
async function collectUpFront(
  items: readonly DayItem[],
  prompter: Prompter,
  opened: Opened,
  io: CliIo,
): Promise<HeldValue[] | undefined> {
  const held: HeldValue[] = [];
  const asks = upFrontAsks(items);
  if (asks.length > 0)
    io.stdout(
      `\nCredentials made by hand, asked now so the rest runs back to back (held in memory until each rotation's turn; an empty answer asks at its turn):\n`,
    );
  for (const ask of asks) {
    for (;;) {
      io.stdout(`\n${ask.item.key}: ${ask.step.prompt}\n`);
      const answer = await prompter.askHidden(`Paste the value (not echoed), or press Enter to be asked at its turn: `);
      if (answer === undefined) return undefined;
      if (answer.trim() === "") break;
      const checked = holdValue(ask, answer, opened.redactor);
      if ("refused" in checked) {
        io.stdout(`That does not look like ${checked.refused}. Nothing was kept.\n`);
        continue;
      }
      held.push(checked.held);
      io.stdout(`Kept for ${ask.item.key}, ends in …${checked.held.ending}.\n`);
      break;
    }
  }
  return held;
}
