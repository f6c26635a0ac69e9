import type { RotationEngine } from "../rotation/create-rotation-engine.js";
import { TERMINAL_STATES, type Actor, type Awaiting, type OperatorResponse } from "../rotation/rotation-model.js";
import { EXIT } from "./cli-io.js";
import type { Prompter } from "./create-prompter.js";

const CHOICES: Record<string, { letter: string; label: string }> = {
  retry: { letter: "r", label: "[r]etry" },
  mark_done: { letter: "m", label: "[m]ark done" },
  abort: { letter: "a", label: "[a]bort" },
  reuse_new: { letter: "u", label: "re[u]se" },
  replace_new: { letter: "p", label: "re[p]lace" },
  cancel: { letter: "c", label: "[c]ancel" },
};

/** Prints progress and answers prompts on the terminal until the rotation ends or the input does. */
export async function driveRotation(
  engine: RotationEngine,
  id: string,
  prompter: Prompter,
  actor: Actor,
  print: (text: string) => void,
): Promise<number> {
  const off = engine.on((event) => {
    if (!("rotation" in event) || event.rotation.id !== id) return;
    if (event.type === "step_started") print(`▶ ${event.step.title}\n`);
    if (event.type === "output") print(`    ${event.line}\n`);
    if (event.type === "step_finished")
      print(
        `${event.step.state === "skipped" ? "⤼" : "✔"} ${event.step.title}${event.step.message ? `: ${event.step.message}` : ""} (${(event.ms / 1000).toFixed(1)} s)\n`,
      );
    if (event.type === "step_failed") print(`✘ ${event.step.title}: ${event.step.message ?? "failed"}\n`);
    if (event.type === "owner_notified") print(`✉ Owner to notify: ${event.owner ?? "(no owner in the manifest)"}\n`);
  });
  try {
    for (;;) {
      const rotation = await engine.settled(id);
      if (!rotation) return EXIT.usage;
      if (rotation.state === "completed") {
        print(`✅ ${rotation.message ?? "completed"} (rotation ${rotation.id})\n`);
        return EXIT.ok;
      }
      if (TERMINAL_STATES.has(rotation.state)) {
        print(`⏹ ${rotation.message ?? rotation.state}\n`);
        return EXIT.attention;
      }
      if (!rotation.awaiting) {
        print(
          `Rotation ${id} stopped (${rotation.state}): ${rotation.message ?? ""}\nContinue with: rotabot resume ${id}\n`,
        );
        return EXIT.attention;
      }
      const response = await ask(rotation.awaiting, prompter, print);
      if (!response) {
        print(`\nRotation ${id} is waiting for an answer; continue with: rotabot resume ${id}\n`);
        return EXIT.attention;
      }
      const result = await engine.respond(id, rotation.awaiting.nonce, response, actor);
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

async function ask(
  awaiting: Awaiting,
  prompter: Prompter,
  print: (text: string) => void,
): Promise<OperatorResponse | undefined> {
  print(`\n${awaiting.kind === "destructive" ? "⚠️  " : ""}${awaiting.prompt}\n`);
  for (;;) {
    switch (awaiting.kind) {
      case "confirm":
      case "destructive": {
        const answer = await prompter.ask("Type yes to go on, no to cancel the rotation: ");
        if (answer === undefined) return undefined;
        if (answer.trim().toLowerCase() === "yes") return { type: "go" };
        if (["no", "n"].includes(answer.trim().toLowerCase())) return { type: "cancel" };
        break;
      }
      case "collect": {
        const answer = await prompter.askHidden(
          "Paste the value (not echoed), or type added if you put it in the vault yourself, or cancel: ",
        );
        if (answer === undefined) return undefined;
        if (answer.trim() === "added") return { type: "added_myself" };
        if (answer.trim() === "cancel") return { type: "cancel" };
        if (answer.trim() !== "") return { type: "collect", value: answer };
        break;
      }
      case "manual": {
        const answer = await prompter.ask("Type done when it is done, or cancel: ");
        if (answer === undefined) return undefined;
        if (answer.trim() === "done") return { type: "done" };
        if (answer.trim() === "cancel") return { type: "cancel" };
        break;
      }
      default: {
        const options = awaiting.accepts.map((a) => CHOICES[a]).filter((c) => c !== undefined);
        const answer = await prompter.ask(`${options.map((o) => o.label).join(", ")}? `);
        if (answer === undefined) return undefined;
        const picked = awaiting.accepts.find((a) => CHOICES[a]?.letter === answer.trim().toLowerCase());
        if (picked) return { type: picked } as OperatorResponse;
      }
    }
    print("Please answer one of the choices above.\n");
  }
}
