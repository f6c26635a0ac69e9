import type { ResponseType } from "../../model/rotation.js";

/**
 * Button actions: engine answers, plus `ask_again` (re-send the private token request) and
 * `revoked` (the credentials an ended rotation left unused were revoked; its nonce is REVOKED_NONCE).
 */
export type ButtonAction = Exclude<ResponseType, "collect"> | "ask_again" | "revoked";

/** The "Revoked" button answers no prompt, so it carries no prompt's nonce; the engine checks what is left to revoke. */
export const REVOKED_NONCE = "00000000";

const CODES = {
  go: "g",
  cancel: "c",
  retry: "r",
  mark_done: "m",
  abort: "a",
  reuse_new: "u",
  replace_new: "p",
  done: "d",
  added_myself: "y",
  another_value: "v",
  ask_again: "k",
  revoked: "x",
} as const satisfies Record<ButtonAction, string>;
const ACTIONS = Object.fromEntries(Object.entries(CODES).map(([action, code]) => [code, action])) as Record<
  string,
  ButtonAction
>;

export interface PromptButton {
  rotationId: string;
  nonce: string;
  action: ButtonAction;
}

/** `rt|<rotation id>|<nonce>|<action>`: about 35 bytes, well under Telegram's 64. */
export function encodeButton({ rotationId, nonce, action }: PromptButton): string {
  return `rt|${rotationId}|${nonce}|${CODES[action]}`;
}

/** A rotation id as the engine makes them: `YYYYMMDD-HHMM-xxxx`. */
export const ROTATION_ID = /^\d{8}-\d{4}-[0-9a-f]{4}$/;

/** Undefined for anything rotabot did not make (forged or foreign data). */
export function decodeButton(data: string): PromptButton | undefined {
  const match = /^rt\|(\d{8}-\d{4}-[0-9a-f]{4})\|([0-9a-f]{8})\|([a-z])$/.exec(data);
  const action = match && Object.hasOwn(ACTIONS, match[3]!) ? ACTIONS[match[3]!] : undefined;
  return match && action ? { rotationId: match[1]!, nonce: match[2]!, action } : undefined;
}
