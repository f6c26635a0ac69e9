import { readdirSync, readFileSync } from "node:fs";

/**
 * The variable that marks every process a step's command starts (inherited by its children, such
 * as ansible's workers): `<rotation id>/<step record id>`, ids only. It finds a command a crash
 * left running even when the crash came before its process group was journaled.
 */
export const STEP_MARK = "ROTABOT_STEP_RUN";

/** The mark of one step of one rotation (see STEP_MARK). */
export const stepMark = (rotationId: string, recordId: string): string => `${rotationId}/${recordId}`;

/**
 * The live processes whose environment carries this step's mark (Linux /proc; processes of other
 * users, unreadable, are not this rotabot's commands). The calling process is never one of them.
 */
export function markedProcesses(mark: string): number[] {
  const needle = Buffer.from(`${STEP_MARK}=${mark}\0`);
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue; // gone meanwhile, or another user's
    }
    const at = environ.indexOf(needle);
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) found.push(Number(name));
  }
  return found;
}
