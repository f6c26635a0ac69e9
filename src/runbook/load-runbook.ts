import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import { MAX_ALIAS_COUNT } from "../yaml/alias-limit.js";
import { formatPath, lineOf } from "../yaml/yaml-location.js";
import { runbookSchema, type Runbook } from "./runbook-schema.js";

export type LoadRunbookResult = { ok: true; runbook: Runbook } | { ok: false; problems: string[] };

/** Reads and validates the runbook; problems read `file:line: field: what is wrong`. */
export async function loadRunbook(file: string): Promise<LoadRunbookResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    return {
      ok: false,
      problems: [
        `${file}: cannot read the runbook (${(error as NodeJS.ErrnoException).code ?? "error"}); set RUNBOOK_FILE to deploy/runbook.yml or your own copy`,
      ],
    };
  }
  return parseRunbook(text, file);
}

/** Problems listed at most; the rest are counted. */
const MAX_PROBLEMS = 20;

/** Validates runbook text; `file` is used only in problem reports. */
export function parseRunbook(text: string, file: string): LoadRunbookResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    // A broken file can hold hundreds of errors (deep nesting gives one per level): the first says where.
    const [first] = doc.errors;
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more)` : "";
    return {
      ok: false,
      problems: [
        `${file}:${lines.linePos(first!.pos[0]).line}: YAML syntax error: ${first!.message.split("\n")[0]}${more}`,
      ],
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws (a ReferenceError for an alias bomb) instead of reporting: an answer, not a crash.
    const excessive = error instanceof ReferenceError && /alias/i.test(error.message);
    return {
      ok: false,
      problems: [
        excessive
          ? `${file}: YAML aliases (*name) expand to too much data (more than ${MAX_ALIAS_COUNT} alias uses); write the steps out instead of aliasing them`
          : `${file}: the YAML cannot be read (${(error as Error).message}); fix the file`,
      ],
    };
  }
  const parsed = runbookSchema.safeParse(data);
  if (parsed.success) return { ok: true, runbook: parsed.data };
  const issues = parsed.error.issues;
  const problems = issues.slice(0, MAX_PROBLEMS).map((issue) => {
    const where = formatPath(issue.path);
    const message = issue.message.length > 300 ? `${issue.message.slice(0, 299)}…` : issue.message;
    return `${file}:${lineOf(doc, lines, issue.path)}: ${where === "" ? "" : `${where}: `}${message}`;
  });
  if (issues.length > MAX_PROBLEMS) problems.push(`${file}: and ${issues.length - MAX_PROBLEMS} more problems`);
  return { ok: false, problems };
}
