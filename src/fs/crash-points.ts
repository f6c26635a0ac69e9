/**
 * The exact moments a crash test may stop rotabot at: each storage window where a kill must
 * leave a state that resume or abort can finish. `<file>:before-rename` is after the complete
 * temp file is fsynced and before it replaces the file; `:after-rename` is after the rename and
 * before the folder is fsynced; `audit:before-head` is between an audit line and audit.head.
 */
export const CRASH_POINTS = [
  "changelog:before-rename",
  "changelog:after-rename",
  "manifest:before-rename",
  "manifest:after-rename",
  "vault:before-rename",
  "vault:after-rename",
  "audit:before-head",
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** A crash point and which time it is reached in this process (1 = the first). */
export interface CrashAt {
  point: CrashPoint;
  occurrence: number;
}

/** Called at each crash point; a no-op unless ROTABOT_CRASH_AT names that point. */
export type ReachCrashPoint = (point: CrashPoint) => void;

export const noCrashPoints: ReachCrashPoint = () => undefined;

/** Parses `<point>` or `<point>#<n>` (the n-th time the point is reached); undefined when invalid. */
export function parseCrashAt(text: string): CrashAt | undefined {
  const match = /^([a-z]+:[a-z-]+)(?:#([1-9]\d{0,3}))?$/.exec(text.trim());
  const point = CRASH_POINTS.find((p) => p === match?.[1]);
  return point ? { point, occurrence: Number(match?.[2] ?? 1) } : undefined;
}

/**
 * For crash tests only (ROTABOT_CRASH_AT): at the chosen point rotabot stops itself with
 * SIGSTOP, so that the test can SIGKILL it there, alone or with its process group, exactly as
 * the OOM killer or a host crash would. Without a setting every point is a no-op.
 */
export function createCrashPoints(
  crashAt: CrashAt | undefined,
  stop: () => void = () => process.kill(process.pid, "SIGSTOP"),
): ReachCrashPoint {
  if (!crashAt) return noCrashPoints;
  let reached = 0;
  return (point) => {
    if (point === crashAt.point && ++reached === crashAt.occurrence) stop();
  };
}
