import { fail, type Result } from "../result.js";

const AGO = /^(\d+)\s*(m|min|minutes?|h|hours?|d|days?)\s+ago$/i;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
/** An ISO 8601 time with its zone: a time without one would be read in the ops host's zone. */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * When a secret may have leaked, as an operator writes it: an ISO 8601 time with its zone
 * (`2026-12-07T09:30Z`) or a span back from now (`90 min ago`, `3h ago`, `2 days ago`).
 * Refused: a time without a zone, one in the future, anything else; each with an example.
 */
export function parseSince(text: string, now: Date): Result<{ since: Date }, "bad_since"> {
  const trimmed = text.trim();
  const ago = AGO.exec(trimmed);
  let since: Date | undefined;
  if (ago) since = new Date(now.getTime() - Number(ago[1]) * UNIT_MS[ago[2]![0]!.toLowerCase()]!);
  else if (ISO_WITH_ZONE.test(trimmed)) since = new Date(trimmed);
  if (since === undefined || Number.isNaN(since.getTime()))
    return fail(
      "bad_since",
      `"${trimmed.slice(0, 40)}" is no time rotabot can read: write when the value may have leaked as an ISO time with its zone (2026-12-07T09:30Z) or a span back from now (90 min ago, 3h ago, 2 days ago)`,
    );
  if (since.getTime() > now.getTime())
    return fail(
      "bad_since",
      `${since.toISOString()} is in the future: write when the value may have leaked, which is now at the latest`,
    );
  return { ok: true, since };
}
