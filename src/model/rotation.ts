/**
 * The rotation as it is journaled: types only, no imports. Everything here is safe to write to
 * STATE_DIR and show in chat: a rotation never holds a secret value.
 */

/** Who acted: a Telegram user (`tg:<id>`) or a shell user (`shell:<name>`); the one Actor of rotabot. */
export interface Actor {
  id: string;
  /** How people read it: `@alice`, or a first and last name, or the shell user. */
  name: string;
  /** The Telegram username, when the audit names someone who is not an operator. */
  username?: string;
}

export type StepState = "pending" | "running" | "awaiting" | "done" | "skipped" | "failed" | "interrupted";

export type RotationState =
  | "running"
  | "awaiting_operator"
  | "completed"
  | "failed"
  /** An abort is rolling back: front ends hear each rollback step, then "aborted" or "rollback_failed". */
  | "aborting"
  /**
   * An abort whose rollback could not undo everything: still in flight (locks, vault claim and
   * deploy marker held) until a retry of the rollback succeeds or someone says it was done by hand.
   */
  | "rollback_failed"
  | "aborted"
  | "interrupted";

/** How a step involves the operator; a gate asks to roll out to the next environment. */
export type Interaction = "automatic" | "collect" | "confirm" | "manual" | "gate";

export interface StepRecord {
  /** Unique in the rotation: the runbook step's id, with `@<environment>` when there are several. */
  id: string;
  /** The runbook step it runs (the epilogue's for the completion checklist). */
  stepId: string;
  /** Where it runs, for steps that run once in each environment. */
  environment?: string;
  title: string;
  kind: string;
  phase: "procedure" | "epilogue";
  destructive: boolean;
  idempotent: boolean;
  state: StepState;
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  /** Why it failed or was skipped, or what it found; never a secret value. */
  message?: string;
  logFile?: string;
  confirmedBy?: Actor;
  /** Who said a failed step was done by hand (Mark done): it ran, but proved nothing. */
  markedDoneBy?: Actor;
  /** The process group of the command it runs (or last ran), to find a run a crash left behind. */
  process?: { pgid: number; host: string; start?: string };
}

/** Answers an operator can give; each prompt lists the ones it accepts (see responses.ts for their words). */
export type ResponseType =
  | "go"
  | "cancel"
  | "collect"
  | "added_myself"
  | "another_value"
  | "done"
  | "retry"
  | "mark_done"
  | "abort"
  | "reuse_new"
  | "replace_new";

/** An answer; a pasted value travels only from the front end to the vault, never into a rotation. */
export type OperatorResponse = { type: Exclude<ResponseType, "collect"> } | { type: "collect"; value: string };

export type PromptKind =
  | "confirm"
  | "destructive"
  | "collect"
  | "manual"
  | "gate"
  | "failed"
  | "interrupted"
  | "existing_new"
  /** A rollback that could not undo everything: Retry runs it again, Mark done says it was done by hand. */
  | "rollback_failed";

/** What the rotation waits for. The nonce binds an answer to this exact prompt (buttons, replays). */
export interface Awaiting {
  stepId: string;
  kind: PromptKind;
  nonce: string;
  since: string;
  /** After this instant the prompt refuses answers, across restarts; `/resume` asks again. */
  expiresAt?: string;
  /** Set once the deadline passed (the timer fired, or a restart found it passed). */
  expired?: boolean;
  prompt: string;
  accepts: ResponseType[];
  /** Button labels of this prompt where the runbook names its own ("I revoked it" for Done). */
  labels?: Partial<Record<ResponseType, string>>;
}

/** One step of an abort's rollback, journaled as it runs. */
export interface RollbackStepRecord {
  /** The rollback step's id, with `@<environment>` where it runs in each environment. */
  id: string;
  /** The runbook's rollback step (or `vault_drop_new`, which rotabot adds first when the runbook does not list it). */
  stepId: string;
  title: string;
  kind: string;
  environment?: string;
  /** "skipped": there was nothing to undo (no `<key>_new` in the vault). */
  state: "pending" | "running" | "done" | "skipped" | "failed";
  message?: string;
  logFile?: string;
  /** How to do it by hand: the command with its paths filled in (never a value), or what to change. */
  byHand: string;
}

/** An abort's rollback: who asked, each step and how it went, and what else needs a person. */
export interface RollbackProgress {
  by: Actor;
  at: string;
  steps: RollbackStepRecord[];
  /** What needs a person besides the failed steps (an unexpected error, a procedure without rollback steps). */
  problems?: string[];
  /** Whether any step that changes services had run: "nothing else changed" is said only when not. */
  touched: boolean;
}

/**
 * A credential the operator created outside rotabot during the rotation (a pasted PAT, DSN key,
 * token): while it is not in use it must be revoked. Named by its own last 4 characters, never
 * by an id, and never more.
 */
export interface CreatedCredential {
  /** The collect step that took it (or refused it after it was created). */
  stepId: string;
  ending: string;
  /** What to do about it, as the runbook says: "revoke PAT …3c6c in the SignalWire space". */
  revoke: string;
  at: string;
  /** "in_use": the rotation completed with it; "revoked": someone said so (by, at). */
  state: "unused" | "in_use" | "revoked";
  revoked?: { by: string; at: string };
}

export interface Rotation {
  version: 2;
  id: string;
  key: string;
  procedureId: string;
  category: string;
  initiator: Actor;
  /** The environments it rolls out to, in order (the runbook's, when it started). */
  environments: string[];
  incident?: { reason: string };
  /**
   * The approver asked by name (`/rotate … approver @bob`): with the two-person rule, only they may
   * approve, until a prompt waiting for them expires (`lapsed`, when): then any approver may.
   */
  approver?: Actor & { lapsed?: string };
  /**
   * A suspected compromise (`/rotate <secret> compromised <reason>`): also an incident. `since` is
   * when the value may have leaked (the operator's `--since`, else the declaration); `order` is the
   * order the operator chose: the procedure's compromise order, or its routine one.
   */
  compromise?: { reason: string; since: string; sinceGiven: boolean; order: "compromise" | "routine" };
  /**
   * The exposure window: from `compromise.since` (or the start) to the end of the check that proved
   * the old value refused by every consumer (`proven`), or to the rotation's end when none did.
   */
  exposure?: { from: string; to: string; seconds: number; proven: boolean; by: string };
  state: RotationState;
  steps: StepRecord[];
  awaiting?: Awaiting;
  /** Set once a destructive step has started: abort is refused from then on. */
  pointOfNoReturn?: { stepId: string; at: string };
  /** Set while an abort rolls back; a step cancelled by it is not an interruption. */
  aborting?: { by: Actor; at: string };
  /** The last abort's rollback, step by step (kept after it ended: a failed one is retried from it). */
  rollback?: RollbackProgress;
  /** Credentials the operator created outside rotabot for this rotation (see CreatedCredential). */
  created?: CreatedCredential[];
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  commit?: string | undefined;
  /** The process driving it; another process leaves it alone while that one lives. */
  process?: { pid: number; host: string };
  /** The manifest's owner of the secret, notified at the end. */
  owner?: string;
  /** The forum topic (Telegram `message_thread_id`) of the ops chat it was started in: its cards go there. */
  topic?: number;
  /** A one-line summary of how it ended or why it stopped. */
  message?: string;
  /**
   * The last 4 characters of the old and the new value, as the revoke cards show them ("revoke the
   * token ending …dFeC; keep …rEtz"); never more: 4 characters is the agreed display.
   */
  endings?: { old?: string; new?: string };
  /**
   * The measured outage of a procedure that declares one: from its `from` step's end to its `to`
   * step's; `measured` says between which steps, in words.
   */
  outage?: { what: string; seconds: number; measured?: string };
  /**
   * A compromise order's outage, measured in each environment (the runbook's `outage_steps`): from
   * the end of the step that broke the old credential there to the end of the last re-deploy there.
   */
  environmentOutages?: EnvironmentOutage[];
}

/** How long one environment's services were cut off by a compromise order (times, never a value). */
export interface EnvironmentOutage {
  environment: string;
  from: string;
  to: string;
  seconds: number;
}

/** What a step's executor reports; `commit` is the git commit a commit step made. */
export type StepOutcome =
  { status: "done" | "skipped"; note?: string; commit?: string } | { status: "failed"; message: string };

/** How a rollback ended, besides its steps (journaled one by one): what else needs a person. */
export interface RollbackReport {
  /** Problems not tied to one rollback step, each with the action to take. */
  problems: string[];
}
