/** An expected failure, told to a human: `message` names the next action. */
export interface Failure<R extends string = string> {
  ok: false;
  reason: R;
  message: string;
}

/** Expected outcomes are values; exceptions are for bugs. */
export type Result<T, R extends string = string> = ({ ok: true } & T) | Failure<R>;

export function fail<R extends string>(reason: R, message: string): Failure<R> {
  return { ok: false, reason, message };
}
