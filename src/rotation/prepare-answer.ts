import { fail, type Failure } from "../result.js";
import type { Runbook } from "../runbook/runbook-schema.js";
import type { Actor, OperatorResponse, Rotation } from "../model/rotation.js";
import { REFUSALS } from "./prompts.js";
import { definitionOf } from "./step-definitions.js";
import { takeCollectedValue } from "../steps/collect.js";
import type { StepDeps } from "../steps/step-kind.js";
import type { Input } from "./transition-io.js";

/**
 * The I/O an answer needs before the state machine hears of it: a pasted value goes to the vault
 * (only whether it was taken enters a transition, never the value), and "replace it" drops the
 * earlier `<key>_new`. Call after checkAnswer.
 */
export async function prepareAnswer(
  r: Readonly<Rotation>,
  nonce: string,
  response: OperatorResponse,
  actor: Actor,
  options: { breakGlass?: string },
  deps: StepDeps & { runbook: Runbook },
): Promise<{ ok: true; input: Input } | Failure<"invalid" | "refused">> {
  if (response.type === "collect" || response.type === "added_myself") {
    const record = r.steps.find((s) => s.id === r.awaiting?.stepId);
    const step = record && definitionOf(deps.runbook, r, record);
    if (step?.kind !== "collect") return fail("invalid", REFUSALS.notACollectStep);
    const value = response.type === "collect" ? response.value : undefined;
    const taken = await takeCollectedValue({ rotation: r, step, value, actor }, deps);
    const input: Input = taken.ok
      ? { type: "value_taken", nonce, response: response.type, actor, note: taken.note, ending: taken.ending }
      : {
          type: "value_refused",
          nonce,
          response: response.type,
          actor,
          prompt: taken.prompt,
          reason: taken.reason,
          ...(taken.ending !== undefined ? { ending: taken.ending } : {}),
        };
    return { ok: true, input };
  }
  if (response.type === "replace_new") {
    const dropped = await deps.vault.dropNew(r.key);
    if (!dropped.ok) return fail("refused", dropped.message);
  }
  return { ok: true, input: { type: "answer", nonce, response: response.type, actor, ...options } };
}
