import { describeExposure } from "../changelog/describe-exposure.js";
import { readFailureCause } from "../exec/find-failure-cause.js";
import type { EngineEvent, RotationEngine } from "../rotation/create-rotation-engine.js";
import type { Actor, Awaiting, OperatorResponse } from "../model/rotation.js";
import { describeOutage, isTerminal } from "../rotation/queries.js";
import { RESPONSES, responseForShellAnswer } from "../rotation/responses.js";
import { EXIT } from "./cli-io.js";
import { showRollback } from "./show-rollback.js";
import type { Prompter } from "./create-prompter.js";

type Begin = () => Promise<Awaited<ReturnType<RotationEngine["start"]>>>;

export interface DriveOptions {
  breakGlass?: string;
  /** Resolves with the signal's name on SIGINT/SIGTERM: a prompt ends at once, a running step gets `graceMs`. */
  stop?: Promise<string>;
  /** How long a running step may finish after a stop signal (SHUTDOWN_GRACE). */
  graceMs?: number;
  /** In a rotation day: a failure also offers Skip, and answers collected up front are used. */
  day?: DayDriving;
}

/** What a rotation day adds to the drive of each of its rotations. */
export interface DayDriving {
  /** Hears the operator's choice at a failure: skip (roll back, go on) or abort (roll back, end the day). */
  onChoice: (choice: "skip" | "abort") => void;
  /** An answer given before the rotation started (a value collected up front), used once; undefined: ask. */
  held?: (awaiting: Awaiting) => OperatorResponse | undefined;
}

/**
 * Starts or resumes a rotation with `begin`, then prints its progress and answers prompts on the
 * terminal until it ends, the input does, or a stop signal comes (then it says how to resume).
 * Listens before `begin`, so no event is missed. A journal that cannot be written ends it with one
 * line that names the file and the fix.
 */
export async function driveRotation(
  engine: RotationEngine,
  begin: Begin,
  prompter: Prompter,
  actor: Actor,
  print: (text: string) => void,
  { stop, graceMs = 0, day, ...options }: DriveOptions = {},
): Promise<number> {
  let id: string | undefined;
  const early: EngineEvent[] = [];
  /** A failure line waits for its cause, read from the step's log; what follows waits for it. */
  let printing: Promise<void> = Promise.resolve();
  const show = (event: EngineEvent) => {
    if (event.type === "step_started") print(`▶ ${event.step.title}\n`);
    if (event.type === "output") print(`    ${event.line}\n`);
    if (event.type === "step_finished")
      print(
        `${event.step.state === "skipped" ? "⤼" : "✔"} ${event.step.title}${event.step.message ? `: ${event.step.message}` : ""} (${(event.ms / 1000).toFixed(1)} s)\n`,
      );
    if (event.type === "step_failed") {
      const { title, message, logFile } = event.step;
      printing = printing.then(async () => {
        const cause = await readFailureCause(logFile);
        print(`✘ ${title}: ${message ?? "failed"}\n${cause.map((line) => `  cause: ${line}\n`).join("")}`);
      });
    }
    if (event.type === "owner_notified") print(`✉ Owner to notify: ${event.owner ?? "(no owner in the manifest)"}\n`);
    showRollback(event, print);
  };
  const off = engine.on((event) => {
    if (id === undefined) early.push(event);
    else if (event.rotation.id === id) show(event);
  });
  try {
    // `begin` says itself why it failed.
    const begun = await begin();
    if (!begun.ok) return EXIT.attention;
    id = begun.rotation.id;
    for (const event of early) if (event.rotation.id === id) show(event);
    const stopped = stop?.then((signal) => ({ signal }));
    for (;;) {
      const settledOrStopped = await Promise.race([engine.settled(id), ...(stopped ? [stopped] : [])]);
      if (settledOrStopped !== undefined && "signal" in settledOrStopped) {
        // A step is running: it gets SHUTDOWN_GRACE, then is stopped and journaled as interrupted.
        await engine.stopAll(graceMs);
        const at = await engine.get(id);
        print(
          `\nStopped by ${settledOrStopped.signal}${at ? ` (${at.state.replace("_", " ")})` : ""}. Continue with: rotabot resume ${id}\n`,
        );
        return EXIT.attention;
      }
      const rotation = settledOrStopped;
      await printing;
      if (!rotation) return EXIT.usage;
      const writeFailure = engine.writeFailure(id);
      if (writeFailure) {
        print(`✘ ${writeFailure}\n`);
        return EXIT.attention;
      }
      if (rotation.state === "completed") {
        print(`✅ ${rotation.message ?? "completed"} (rotation ${rotation.id})\n`);
        if (rotation.outage) print(`⏱ ${describeOutage(rotation)}\n`);
        if (rotation.compromise) print(`🚨 ${describeExposure(rotation)}\n`);
        return EXIT.ok;
      }
      if (isTerminal(rotation)) {
        print(`⏹ ${rotation.message ?? rotation.state}\n`);
        return EXIT.attention;
      }
      if (!rotation.awaiting) {
        print(
          `Rotation ${id} stopped (${rotation.state}): ${rotation.message ?? ""}\nContinue with: rotabot resume ${id}\n`,
        );
        return EXIT.attention;
      }
      const held = day?.held?.(rotation.awaiting);
      if (held) print(`\n${rotation.awaiting.prompt}\nAnswered with the value given at the start of the day.\n`);
      const asked = held ? { response: held } : await ask(rotation.awaiting, prompter, print, day !== undefined);
      const response = asked?.response;
      if (asked?.choice) day?.onChoice(asked.choice);
      if (!response) {
        const signal = prompter.stoppedBy();
        print(
          `\n${signal ? `Stopped by ${signal}; nothing was answered. ` : ""}Rotation ${id} is waiting for an answer; continue with: rotabot resume ${id}\n`,
        );
        return EXIT.attention;
      }
      const result = await engine.respond(id, rotation.awaiting.nonce, response, actor, options);
      if (!result.ok && result.reason === "not_allowed") {
        print(
          `${result.message}\nThe rotation waits: an approver can answer in the chat (/resume ${id}), or, when no second person can be reached, run rotabot resume ${id} --break-glass "<reason>" (the reason goes to the audit).\n`,
        );
        return EXIT.attention;
      }
      if (!result.ok && result.reason === "journal") {
        print(`✘ ${result.message}\n`);
        return EXIT.attention;
      }
      if (!result.ok) {
        print(`${result.message}\n`);
        if (result.reason === "refused" && response.type !== "abort" && response.type !== "cancel")
          return EXIT.attention;
      }
    }
  } finally {
    off();
  }
}

/** The question the shell asks for a prompt; answers are matched through the shared vocabulary. */
function questionFor(awaiting: Awaiting): string {
  const cancel = awaiting.accepts.includes("cancel");
  switch (awaiting.kind) {
    case "confirm":
    case "destructive":
      return `Type yes to go on${cancel ? ", no to cancel the rotation" : ""}: `;
    case "manual":
      return `Type done when it is done${cancel ? ", or cancel" : ""}: `;
    case "collect":
      return `Paste the value (not echoed), or type added if you put it in the vault yourself${cancel ? ", or cancel" : ""}: `;
    default:
      return `${awaiting.accepts.map((a) => RESPONSES[a].shellLabel).join(", ")}? `;
  }
}

/** In a rotation day, a failure that can still be rolled back offers Skip beside Abort (of the whole day). */
const DAY_FAILURE_CHOICES = {
  skip: { shell: ["s", "skip"], label: "[s]kip (roll this one back, go on with the next secret)" },
  abort: { shell: ["a", "abort"], label: "[a]bort the day (roll this one back, start no more)" },
} as const;

async function ask(
  awaiting: Awaiting,
  prompter: Prompter,
  print: (text: string) => void,
  inDay = false,
): Promise<{ response: OperatorResponse; choice?: "skip" | "abort" } | undefined> {
  print(`\n${awaiting.kind === "destructive" ? "⚠️  " : ""}${awaiting.prompt}\n`);
  const dayFailure = inDay && awaiting.kind === "failed" && awaiting.accepts.includes("abort");
  for (;;) {
    const question = dayFailure
      ? `${[...awaiting.accepts.filter((a) => a !== "abort").map((a) => RESPONSES[a].shellLabel), DAY_FAILURE_CHOICES.skip.label, DAY_FAILURE_CHOICES.abort.label].join(", ")}? `
      : questionFor(awaiting);
    const answer = awaiting.kind === "collect" ? await prompter.askHidden(question) : await prompter.ask(question);
    if (answer === undefined) return undefined;
    if (dayFailure)
      for (const choice of ["skip", "abort"] as const)
        if ((DAY_FAILURE_CHOICES[choice].shell as readonly string[]).includes(answer.trim().toLowerCase()))
          return { response: { type: "abort" }, choice };
    const picked = responseForShellAnswer(answer, awaiting.accepts);
    if (picked && picked !== "collect") return { response: { type: picked } };
    if (awaiting.kind === "collect" && answer.trim() !== "") return { response: { type: "collect", value: answer } };
    print("Please answer one of the choices above.\n");
  }
}
