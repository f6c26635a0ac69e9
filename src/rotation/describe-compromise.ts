import type { Procedure } from "../runbook/runbook-schema.js";
import { describeSeconds } from "../time/duration.js";
import type { Rotation } from "../model/rotation.js";

type Past = Pick<Rotation, "procedureId" | "state" | "exposure" | "compromise" | "createdAt">;

/** The two orders a compromised secret can be rotated in, as the plan weighs them. */
export interface CompromiseChoice {
  /** What the compromise order costs, and what it saves, in the runbook's words. */
  outage: string;
  saves: string;
  /** The exposure window each order had the last time it was measured here, if it was. */
  lastExposure: { compromise?: string; routine?: string };
}

/** The choice a compromised secret's plan offers; undefined when the procedure states no compromise order. */
export function compromiseChoice(procedure: Procedure, rotations: readonly Past[]): CompromiseChoice | undefined {
  const compromise = procedure.compromise;
  if (!compromise) return undefined;
  const last = (order: "compromise" | "routine") => {
    const found = rotations.find(
      (r) =>
        r.procedureId === procedure.id &&
        r.state === "completed" &&
        r.exposure?.proven &&
        (r.compromise?.order ?? "routine") === order,
    );
    return found?.exposure && `${describeSeconds(found.exposure.seconds)} (${found.createdAt.slice(0, 10)})`;
  };
  const compromiseLast = last("compromise");
  const routineLast = last("routine");
  return {
    outage: compromise.outage,
    saves: compromise.saves,
    lastExposure: {
      ...(compromiseLast ? { compromise: compromiseLast } : {}),
      ...(routineLast ? { routine: routineLast } : {}),
    },
  };
}

/** The choice as plain lines, for the shell's plan (the chat's card says the same in HTML). */
export function describeChoice(choice: CompromiseChoice): string[] {
  const measured = (which: string | undefined) => (which ? `; the last one measured here: ${which}` : "");
  return [
    `Compromise order: the old value is refused as early as the service allows${measured(choice.lastExposure.compromise)}.`,
    `  costs: ${choice.outage}`,
    `  saves: ${choice.saves}`,
    `Routine order: the old value stays accepted until the end of the rotation's checks${measured(choice.lastExposure.routine)}.`,
  ];
}

/** Why a secret cannot be rotated as compromised, and what to do instead. */
export function noCompromiseOrder(procedure: Pick<Procedure, "id">): string {
  return `procedure ${procedure.id} states no compromise order: add a \`compromise:\` section to it in the runbook (docs/runbook.md, "Compromise mode"), or rotate it as an incident in the routine order (incident <reason>)`;
}
