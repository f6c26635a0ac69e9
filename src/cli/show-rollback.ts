import type { EngineEvent } from "../rotation/create-rotation-engine.js";

/** An abort's progress on the terminal: each rollback step as it starts and ends. */
export function showRollback(event: EngineEvent, print: (text: string) => void): void {
  if (event.type === "aborting") {
    const steps = event.rotation.rollback?.steps.filter((s) => s.state !== "done" && s.state !== "skipped") ?? [];
    print(
      `${event.retry ? "Retrying the rollback" : "Aborting"}: ${steps.length} rollback step${steps.length === 1 ? "" : "s"}\n`,
    );
  }
  if (event.type !== "rollback_step") return;
  const { step } = event;
  const where = `${step.title}${step.environment ? ` (${step.environment})` : ""}`;
  if (step.state === "running") print(`↩ ${where}\n`);
  else
    print(
      `${step.state === "failed" ? "✘" : step.state === "skipped" ? "⤼" : "✔"} ${where}${step.message ? `: ${step.message}` : ""}\n`,
    );
}
