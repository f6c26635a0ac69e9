import type { Rotation } from "../model/rotation.js";
import { describeSeconds } from "../time/duration.js";

/**
 * The exposure window of a compromise rotation, as the completion report, the audit, the
 * CHANGELOG and history say it (times and step titles, never a value); undefined for a routine rotation.
 */
export function describeExposure(
  rotation: Pick<Rotation, "compromise" | "exposure" | "environmentOutages">,
): string | undefined {
  const { compromise, exposure } = rotation;
  if (!compromise) return undefined;
  const outages = describeEnvironmentOutages(rotation);
  if (!exposure)
    return `exposure window still open: no check has proved the old value refused yet${outages ? `; ${outages}` : ""}`;
  const from = compromise.sinceGiven ? "the suspected leak" : "the declaration";
  const to = exposure.proven
    ? `“${exposure.by}” proved it refused at ${exposure.to}`
    : `${exposure.by}, ${exposure.to}`;
  return `exposure window ${describeSeconds(exposure.seconds)}: the old value stayed accepted from ${from} at ${exposure.from} until ${to}${outages ? `; ${outages}` : ""}`;
}

/**
 * The compromise order's outage as measured in each environment ("outage staging 4.1 s,
 * production 3.8 s"); undefined when the procedure declares no `outage_steps` or none ended yet.
 */
export function describeEnvironmentOutages(rotation: Pick<Rotation, "environmentOutages">): string | undefined {
  const outages = rotation.environmentOutages;
  if (!outages?.length) return undefined;
  const each = outages.map((o) => `${o.environment} ${describeSeconds(o.seconds)}`).join(", ");
  return `outage per environment (from the break of the old credential to the end of the last re-deploy there): ${each}`;
}
