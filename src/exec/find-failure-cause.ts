import { readFile } from "node:fs/promises";

/** Lines quoted at most, and characters per line. */
const MAX_LINES = 3;
const MAX_CHARS = 300;
/** How much of the end of a log is searched: the cause of a failure is near the end. */
const TAIL_BYTES = 256 * 1024;

// Terminal colour codes, as ansible-playbook prints them when forced to.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
/** ansible: `fatal: [host]: FAILED! => {json}` and `failed: [host] (item=x) => {json}`. */
const ANSIBLE_RESULT = /^(fatal|failed): \[([^\]]+)\](?:[^=]*?)(?:FAILED! )?=> (\{.*\})\s*$/;
/** Lines that say why on their own: ansible's `ERROR!`, a `msg:`, an HTTP status, an error word. */
const MEANINGFUL = [
  /^ERROR! /,
  /^(fatal|failed): \[/,
  /^"?msg"?\s*:/,
  /\bHTTP\/\d(?:\.\d)? [1-5]\d\d\b/,
  /\b(?:status(?: code)?|HTTP Error)[ :=]+[1-5]\d\d\b/i,
  /\b[45]\d\d (?:Unauthorized|Forbidden|Not Found|Bad Request|Conflict|Too Many Requests)\b/,
  /\b(?:error|refused|denied|not found|invalid|timed? ?out)\b/i,
];
/** Noise at the end of an ansible run: the recap, banners, rulers. */
const NOISE = [/^PLAY RECAP\b/, /^\S+\s+: ok=\d+/, /^(PLAY|TASK|RUNNING HANDLER) \[/, /^\*+$/, /^to retry, use:/];

/**
 * The lines of a failed command's log that say why it failed, the last ones in log order:
 * ansible's `fatal:` lines (its JSON reduced to `msg`, the status and the end of stderr), `ERROR!`
 * and `msg:` lines, HTTP statuses, error words; when none, the last lines that are not ansible's
 * recap. At most three lines of 300 characters. The one place that reads a cause: the chat's
 * failure cards and the shell's failure line both use it. The log is redacted when it is written;
 * callers that know more secrets pass `redact`.
 */
export function findFailureCause(log: string, redact: (text: string) => string = (t) => t): string[] {
  const lines = log
    .replace(ANSI, "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !NOISE.some((pattern) => pattern.test(line)));
  const meaningful = lines.filter((line) => MEANINGFUL.some((pattern) => pattern.test(line)));
  const picked = (meaningful.length > 0 ? meaningful : lines).slice(-MAX_LINES).map(condense);
  return [...new Set(picked)].map((line) => clipLine(redact(line)));
}

/** Reads the end of a log and finds its cause; no lines when the file cannot be read. */
export async function readFailureCause(
  logFile: string | undefined,
  redact?: (text: string) => string,
): Promise<string[]> {
  if (!logFile) return [];
  const content = await readFile(logFile).catch(() => undefined);
  if (!content) return [];
  return findFailureCause(content.subarray(Math.max(0, content.length - TAIL_BYTES)).toString("utf8"), redact);
}

/** An ansible result line reduced to what a person reads: host, msg, status, the end of stderr. */
function condense(line: string): string {
  const match = ANSIBLE_RESULT.exec(line);
  if (!match) return line;
  const [, word, host, json] = match as unknown as [string, string, string, string];
  let result: Record<string, unknown>;
  try {
    result = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return line;
  }
  const parts: string[] = [];
  if (typeof result.msg === "string") parts.push(result.msg);
  if (typeof result.status === "number" && !parts.join(" ").includes(String(result.status)))
    parts.push(`HTTP status ${result.status}`);
  const stderr = typeof result.stderr === "string" ? result.stderr.trim().split("\n").at(-1) : undefined;
  if (stderr) parts.push(`stderr: ${stderr}`);
  if (typeof result.rc === "number" && result.msg === "non-zero return code") parts.push(`rc ${result.rc}`);
  return parts.length > 0 ? `${word}: [${host}]: ${parts.join("; ")}` : line;
}

function clipLine(line: string): string {
  return line.length > MAX_CHARS ? `${line.slice(0, MAX_CHARS - 1)}…` : line;
}
