import { fail, type Result } from "../result.js";

/** How much of a word the user typed (a secret name, a filter, a command) rotabot repeats back. */
export const ECHO_MAX = 64;

/**
 * The longest incident reason rotabot takes. The reason is repeated in the plan card, the progress
 * message, the audit channel, the journal and the commit message, so it must stay one sentence.
 */
export const INCIDENT_REASON_MAX = 200;

/**
 * Text the user typed, made safe to repeat in one line: control characters and runs of
 * whitespace become one space, and anything past `max` characters becomes "…". Telegram refuses
 * a message over 4096 characters, so an unbounded echo turns a typo into an error.
 */
export function clip(text: string, max = ECHO_MAX): string {
  const chars = [...oneLine(text)];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : chars.join("");
}

/** The incident reason as it will be recorded (one line), or why it is refused. */
export function checkIncidentReason(text: string): Result<{ reason: string }, "empty" | "too_long"> {
  const reason = oneLine(text);
  if (reason === "")
    return fail("empty", "an incident needs a reason, for example: incident deploy is the mitigation for INC-42");
  const length = [...reason].length;
  if (length > INCIDENT_REASON_MAX)
    return fail(
      "too_long",
      `the incident reason is ${length} characters; keep it to ${INCIDENT_REASON_MAX} (it is repeated in the plan, the audit channel, the journal and the commit message): one sentence, with a ticket number for the details`,
    );
  return { ok: true, reason };
}

/** A compromised secret's reason, as checkIncidentReason, with the front end's own example when it is missing. */
export function checkCompromiseReason(text: string, example: string): Result<{ reason: string }, "invalid"> {
  const checked = checkIncidentReason(text);
  if (checked.ok) return checked;
  return fail(
    "invalid",
    checked.reason === "empty" ? `a compromised secret needs a reason, for example: ${example}` : checked.message,
  );
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
}
