import type { Rotation } from "../model/rotation.js";
import { describeSeconds } from "../time/duration.js";

/**
 * The exposure window of a compromise rotation, as the completion report, the audit, the
 * CHANGELOG and history say it (times and step titles, never a value); undefined for a routine rotation.
 */
export function describeExposure(rotation: Pick<Rotation, "compromise" | "exposure">): string | undefined {
  const { compromise, exposure } = rotation;
  if (!compromise) return undefined;
  if (!exposure) return "exposure window still open: no check has proved the old value refused yet";
  const from = compromise.sinceGiven ? "the suspected leak" : "the declaration";
  const to = exposure.proven
    ? `“${exposure.by}” proved it refused at ${exposure.to}`
    : `${exposure.by}, ${exposure.to}`;
  return `exposure window ${describeSeconds(exposure.seconds)}: the old value stayed accepted from ${from} at ${exposure.from} until ${to}`;
}
