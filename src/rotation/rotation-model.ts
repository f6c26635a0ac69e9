/** Who acted: a Telegram user (`tg:<id>`) or a shell user (`shell:<name>`). */
export interface Actor {
  id: string;
  name: string;
}

export const STEP_STATES = ["pending", "running", "awaiting", "done", "skipped", "failed", "interrupted"] as const;
export type StepState = (typeof STEP_STATES)[number];

export const ROTATION_STATES = [
  "running",
  "awaiting_operator",
  "completed",
  "failed",
  "aborted",
  "interrupted",
] as const;
export type RotationState = (typeof ROTATION_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<RotationState> = new Set(["completed", "aborted"]);

export interface StepRecord {
  id: string;
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
}

/** Answers an operator can give; each prompt lists the ones it accepts. */
export const RESPONSE_TYPES = [
  "go",
  "cancel",
  "collect",
  "added_myself",
  "done",
  "retry",
  "mark_done",
  "abort",
  "reuse_new",
  "replace_new",
] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];
export type OperatorResponse = { type: Exclude<ResponseType, "collect"> } | { type: "collect"; value: string };

/** What the rotation waits for. The nonce binds an answer to this exact prompt (buttons, replays). */
export interface Awaiting {
  stepId: string;
  kind: "confirm" | "destructive" | "collect" | "manual" | "failed" | "interrupted" | "existing_new";
  nonce: string;
  since: string;
  prompt: string;
  accepts: ResponseType[];
}

export interface Rotation {
  version: 1;
  id: string;
  key: string;
  procedureId: string;
  category: string;
  initiator: Actor;
  environment: string;
  incident?: { reason: string };
  state: RotationState;
  steps: StepRecord[];
  awaiting?: Awaiting;
  /** Set once a destructive step has started: abort is refused from then on. */
  pointOfNoReturn?: { stepId: string; at: string };
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  commit?: string | undefined;
  /** The process driving it; another process leaves it alone while that one lives. */
  process?: { pid: number; host: string };
  /** The manifest's owner of the secret, notified at the end. */
  owner?: string;
  /** A one-line summary of how it ended or why it stopped. */
  message?: string;
}

export function currentStep(rotation: Rotation): StepRecord | undefined {
  return rotation.steps.find((s) => s.state !== "done" && s.state !== "skipped");
}
