import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
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

/** Validates runbook text; `file` is used only in problem reports. */
export function parseRunbook(text: string, file: string): LoadRunbookResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map(
        (e) => `${file}:${lines.linePos(e.pos[0]).line}: YAML syntax error: ${e.message.split("\n")[0]}`,
      ),
    };
  }
  const parsed = runbookSchema.safeParse(doc.toJS());
  if (parsed.success) return { ok: true, runbook: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const where = formatPath(issue.path);
      return `${file}:${lineOf(doc, lines, issue.path)}: ${where === "" ? "" : `${where}: `}${issue.message}`;
    }),
  };
}
