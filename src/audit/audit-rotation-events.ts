import { describeExposure } from "../changelog/describe-exposure.js";
import type { RotationEngine } from "../rotation/create-rotation-engine.js";
import type { Rotation } from "../model/rotation.js";
import { describeOutage, stepLabel } from "../rotation/queries.js";
import { RESPONSES } from "../rotation/responses.js";
import type { Audit } from "./create-audit.js";

/** Turns engine events into audit events: every step for the log, never a value. */
export function auditRotationEvents(engine: RotationEngine, audit: Audit): () => void {
  return engine.on((event) => {
    const ref = { id: event.rotation.id, key: event.rotation.key };
    switch (event.type) {
      case "started":
        audit.record({
          type: "rotation_started",
          rotation: ref,
          by: event.rotation.initiator.name,
          environment: event.rotation.environments.join(" → "),
          incident: event.rotation.incident?.reason,
          compromise: event.rotation.compromise && {
            since: event.rotation.compromise.since,
            sinceGiven: event.rotation.compromise.sinceGiven,
            order: event.rotation.compromise.order,
          },
          approver: event.rotation.approver?.name,
        });
        break;
      case "step_finished":
        audit.record({
          type: "step_ok",
          rotation: ref,
          step: stepLabel(event.step, event.rotation.environments),
          seconds: event.ms / 1000,
          skipped: event.step.state === "skipped",
        });
        break;
      case "step_failed":
        audit.record({
          type: "step_failed",
          rotation: ref,
          step: stepLabel(event.step, event.rotation.environments),
          seconds: event.ms / 1000,
          message: event.step.message ?? "failed",
        });
        break;
      case "value_checked":
        audit.record({
          type: "value_checked",
          rotation: ref,
          step: stepLabel(event.step, event.rotation.environments),
          how: event.response === "collect" ? "sent" : "added to the vault by hand",
          by: event.actor.name,
          refused: event.refused,
        });
        break;
      case "answered":
        // A value sent or added by hand is audited once it is checked (value_checked).
        if (event.response === "collect" || event.response === "added_myself") break;
        audit.record({
          type: "answered",
          rotation: ref,
          step: stepLabel(event.step, event.rotation.environments),
          answer: RESPONSES[event.response].audit,
          by: event.actor.name,
        });
        break;
      case "aborting":
        audit.record({
          type: "rotation_aborting",
          rotation: ref,
          by: event.actor.name,
          steps: event.rotation.rollback?.steps.length ?? 0,
          retry: event.retry,
        });
        break;
      case "rollback_step":
        if (event.step.state === "running") break;
        audit.record({
          type: "rollback_step",
          rotation: ref,
          step: `${event.step.title}${event.step.environment ? ` · ${event.step.environment}` : ""}`,
          state: event.step.state,
          message: event.step.message,
        });
        break;
      case "rollback_failed":
      case "aborted":
        // The rotation's message says what was rolled back, what failed and what to do.
        audit.record({
          type: event.type === "aborted" ? "rotation_aborted" : "rollback_failed",
          rotation: ref,
          by: event.actor.name,
          message: event.rotation.message ?? "",
        });
        break;
      case "revoked":
        audit.record({
          type: "credentials_revoked",
          rotation: ref,
          by: event.actor.name,
          credentials: (event.rotation.created ?? [])
            .filter((c) => c.revoked?.at === event.rotation.updatedAt)
            .map((c) => c.revoke),
        });
        break;
      case "completed": {
        const done = (kind: string) => event.rotation.steps.some((s) => s.kind === kind && s.state === "done");
        const minutes =
          (Date.parse(event.rotation.endedAt ?? event.rotation.updatedAt) - Date.parse(event.rotation.createdAt)) /
          60_000;
        audit.record({
          type: "rotation_completed",
          rotation: ref,
          minutes,
          commit: event.rotation.commit,
          manifest: done("manifest_update"),
          changelog: done("changelog_update"),
          outage: describeOutage(event.rotation),
          exposure: event.rotation.compromise && {
            text: describeExposure(event.rotation)!,
            seconds: event.rotation.exposure?.seconds,
            proven: event.rotation.exposure?.proven ?? false,
          },
          owner: { name: event.rotation.owner, notified: done("notify_owner") },
        });
        break;
      }
      case "break_glass":
        audit.record({
          type: "break_glass",
          rotation: ref,
          step: stepLabel(event.step, event.rotation.environments),
          answer: RESPONSES[event.response].audit,
          by: event.actor.name,
          reason: event.reason,
        });
        break;
      case "prompt_expired":
        audit.record({
          type: "prompt_expired",
          rotation: ref,
          step: event.step.title,
          approverLapsed: lapsedNow(event.rotation),
        });
        break;
      case "owner_notified":
        audit.record({ type: "owner_notified", rotation: ref, owner: event.owner });
        break;
      case "interrupted":
        audit.record({
          type: "rotation_interrupted",
          rotation: ref,
          step: interruptedStepLabel(event.rotation),
        });
        break;
      default:
        break;
    }
  });
}

function interruptedStepLabel(rotation: Readonly<Rotation>): string | undefined {
  const step = rotation.steps.find((s) => s.state === "interrupted");
  return step && stepLabel(step, rotation.environments);
}

/**
 * The approver asked by name, when their name lapsed with the prompt that just expired (a name
 * lapses only when a prompt expires, so at or after that prompt's start).
 */
export function lapsedNow(r: Readonly<Rotation>): string | undefined {
  const { approver, awaiting } = r;
  return approver?.lapsed && awaiting && approver.lapsed >= awaiting.since ? approver.name : undefined;
}
