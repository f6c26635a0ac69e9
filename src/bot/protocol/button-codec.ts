import type { ResponseType } from "../../model/rotation.js";

/*
 * Every callback format rotabot puts under a message, in one place: what each button carries,
 * how it is written, and the patterns grammY's `callbackQuery()` and the /rotate dialog match.
 * Telegram allows 64 bytes of callback data (core.telegram.org/bots/api#inlinekeyboardbutton);
 * the longest here, `plan|<nonce>|<20-digit id>|cancel`, is 41.
 */

/**
 * Button actions: engine answers, plus `ask_again` (re-send the private token request) and
 * `revoked` (the credentials an ended rotation left unused were revoked; its nonce is REVOKED_NONCE).
 */
export type ButtonAction = Exclude<ResponseType, "collect"> | "ask_again" | "revoked";

/** The "Revoked" button answers no prompt, so it carries no prompt's nonce; the engine checks what is left to revoke. */
export const REVOKED_NONCE = "00000000";

/** Each action's one-letter code in `rt|` data. */
export const ACTION_CODES = {
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
const ACTIONS = Object.fromEntries(Object.entries(ACTION_CODES).map(([action, code]) => [code, action])) as Record<
  string,
  ButtonAction
>;

/** A plan card's buttons: Start (or Retry after a refusal), Start in the routine order (a compromise's plan), and Cancel. */
export type PlanAction = "start" | "routine" | "cancel";

/** What a button carries, by kind. */
export type Button =
  /** `rt|<rotation id>|<nonce>|<action code>`: an answer to a rotation's prompt. */
  | { kind: "prompt"; rotationId: string; nonce: string; action: ButtonAction }
  /** `plan|<nonce>|<Telegram id of who may press>|<action>`: a plan card of the /rotate dialog. */
  | { kind: "plan"; nonce: string; ownerId: number; action: PlanAction }
  /** `pick|<nonce>|<index>`: one of several secrets a name fits. */
  | { kind: "pick"; nonce: string; index: number }
  /** `cmd|<vault key>`: "Show commands" (the same for whoever asks). */
  | { kind: "commands"; key: string }
  /** `pre|<vault key>`: "Preflight", a rehearsal that changes nothing, for any operator. */
  | { kind: "preflight"; key: string }
  /** `due|<vault key>`: open the plan of a secret (the digest's Rotate buttons, the /rotate choices). */
  | { kind: "due"; key: string }
  /** `day|<nonce>|<action>`: a rotation day's plan card (Start, Cancel) and the running day's Stop. */
  | { kind: "day"; nonce: string; action: DayAction };

/** A rotation day's buttons: Start and Cancel on its plan, Stop on its progress message, "ask at its turn" on an up-front credential request. */
export type DayAction = "start" | "cancel" | "stop" | "later";

/** A rotation id as the engine makes them: `YYYYMMDD-HHMM-xxxx`. */
export const ROTATION_ID = /^\d{8}-\d{4}-[0-9a-f]{4}$/;

/**
 * The pattern of each kind, for grammY's `callbackQuery()`; the groups are the fields in the
 * order of {@link Button}. A vault key travels whole or not at all (60 characters of
 * `[A-Za-z0-9_]`), so a button never opens another secret than the one it names.
 */
export const BUTTON_PATTERNS = {
  prompt: /^rt\|(\d{8}-\d{4}-[0-9a-f]{4})\|([0-9a-f]{8})\|([a-z])$/,
  plan: /^plan\|([0-9a-f]{8})\|(\d{1,20})\|(start|routine|cancel)$/,
  pick: /^pick\|([0-9a-f]{8})\|(\d{1,3})$/,
  commands: /^cmd\|([A-Za-z0-9_]{1,60})$/,
  preflight: /^pre\|([A-Za-z0-9_]{1,60})$/,
  due: /^due\|([A-Za-z0-9_]{1,60})$/,
  day: /^day\|([0-9a-f]{8})\|(start|cancel|stop|later)$/,
} as const satisfies Record<Button["kind"], RegExp>;

/** Every `rt|` press, well formed or not: the rotation feature answers the ones it cannot decode. */
export const PROMPT_PREFIX = /^rt\|/;

const PREFIXES = {
  prompt: "rt",
  plan: "plan",
  pick: "pick",
  commands: "cmd",
  preflight: "pre",
  due: "due",
  day: "day",
} as const satisfies Record<Button["kind"], string>;

function fieldsOf(button: Button): (string | number)[] {
  switch (button.kind) {
    case "prompt":
      return [button.rotationId, button.nonce, ACTION_CODES[button.action]];
    case "plan":
      return [button.nonce, button.ownerId, button.action];
    case "pick":
      return [button.nonce, button.index];
    case "day":
      return [button.nonce, button.action];
    case "commands":
    case "preflight":
    case "due":
      return [button.key];
  }
}

/** Buttons that carry only what rotabot made (ids, nonces, indexes): their data always fits. */
type OwnButton = Extract<Button, { kind: "prompt" | "plan" | "pick" | "day" }>;
/** Buttons that carry a vault key from the manifest, which may not fit. */
type KeyButton = Exclude<Button, OwnButton>;

/** The callback data of a button made of rotabot's own ids and nonces. */
export function encodeButton(button: OwnButton): string;
/**
 * The callback data of a button that names a vault key, or undefined when the key cannot travel
 * (longer than 60 characters, or other characters than `[A-Za-z0-9_]`): leave the button out.
 */
export function encodeButton(button: KeyButton): string | undefined;
export function encodeButton(button: Button): string | undefined {
  const data = [PREFIXES[button.kind], ...fieldsOf(button)].join("|");
  return button.kind === "prompt" ||
    button.kind === "plan" ||
    button.kind === "pick" ||
    button.kind === "day" ||
    BUTTON_PATTERNS[button.kind].test(data)
    ? data
    : undefined;
}

/** What a button carries; undefined for anything rotabot did not make (forged or foreign data). */
export function decodeButton(data: string): Button | undefined {
  let m: RegExpExecArray | null;
  if ((m = BUTTON_PATTERNS.prompt.exec(data))) {
    const action = Object.hasOwn(ACTIONS, m[3]!) ? ACTIONS[m[3]!] : undefined;
    return action ? { kind: "prompt", rotationId: m[1]!, nonce: m[2]!, action } : undefined;
  }
  if ((m = BUTTON_PATTERNS.plan.exec(data)))
    return { kind: "plan", nonce: m[1]!, ownerId: Number(m[2]), action: m[3] as PlanAction };
  if ((m = BUTTON_PATTERNS.pick.exec(data))) return { kind: "pick", nonce: m[1]!, index: Number(m[2]) };
  if ((m = BUTTON_PATTERNS.commands.exec(data))) return { kind: "commands", key: m[1]! };
  if ((m = BUTTON_PATTERNS.preflight.exec(data))) return { kind: "preflight", key: m[1]! };
  if ((m = BUTTON_PATTERNS.due.exec(data))) return { kind: "due", key: m[1]! };
  if ((m = BUTTON_PATTERNS.day.exec(data))) return { kind: "day", nonce: m[1]!, action: m[2] as DayAction };
  return undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The presses one plan card waits for: its own nonce and owner, Start (either order) or Cancel. */
export function planPresses(nonce: string, ownerId: number): RegExp {
  return new RegExp(`^plan\\|${escapeRegExp(nonce)}\\|${ownerId}\\|(start|routine|cancel)$`);
}

/** The presses a pick waits for: only the indexes offered, so a forged `pick|<nonce>|99` passes on to the catch-all. */
export function pickPresses(nonce: string, offered: number): RegExp {
  const indexes = Array.from({ length: offered }, (_, i) => i).join("|");
  return new RegExp(`^pick\\|${escapeRegExp(nonce)}\\|(${indexes})$`);
}
