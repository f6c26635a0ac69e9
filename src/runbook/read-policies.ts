import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { MAX_ALIAS_COUNT } from "../yaml/alias-limit.js";
import { policiesSchema, type Policies } from "./policy-schema.js";

export type ReadPoliciesResult = { ok: true; policies: Policies } | { ok: false; problems: string[] };

/** The top-level `policies:` line of a block-style runbook. */
const POLICIES_LINE = /^policies:[ \t]*(#.*)?$/;
/** A line that ends a top-level block: anything at column 0 but a comment. */
const TOP_LEVEL = /^[^\s#]/;

/**
 * The runbook's rotation policies, all that `rotabot age` needs of it: the `policies:` block is cut
 * out of the text and only it is parsed and validated, against the same schema as in the whole
 * runbook (the rest, steps and checks, is neither parsed nor validated). Whenever that cut could
 * read differently from the whole file (no such block or more than one, several YAML documents, an
 * alias to an anchor outside the block, a block that is not valid), the whole runbook is loaded
 * instead (`loadWhole`), so the policies and every problem reported are those of the full parse.
 */
export async function readPolicies(
  file: string,
  loadWhole: (
    file: string,
  ) => Promise<{ ok: true; runbook: { policies: Policies } } | { ok: false; problems: string[] }>,
): Promise<ReadPoliciesResult> {
  const whole = async (): Promise<ReadPoliciesResult> => {
    const loaded = await loadWhole(file);
    return loaded.ok ? { ok: true, policies: loaded.runbook.policies } : loaded;
  };
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return whole();
  const block = policiesBlock(text);
  if (block === undefined) return whole();
  const doc = parseDocument(block, { prettyErrors: false });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return whole();
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return whole();
  }
  const parsed = policiesSchema.safeParse((data as { policies?: unknown } | null)?.policies);
  return parsed.success ? { ok: true, policies: parsed.data } : whole();
}

/** The `policies:` block of a one-document, block-style YAML text; undefined when that is not certain. */
export function policiesBlock(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  // Another document, or a directive, could change what the block means.
  if (lines.some((line, i) => (i > 0 && /^---(\s|$)/.test(line)) || /^\.\.\.(\s|$)/.test(line))) return undefined;
  const starts = lines.flatMap((line, i) => (POLICIES_LINE.test(line) ? [i] : []));
  if (starts.length !== 1 || lines.some((line) => /^["']?policies["']?\s*:/.test(line) && !POLICIES_LINE.test(line)))
    return undefined;
  const start = starts[0]!;
  let end = start + 1;
  while (end < lines.length && !TOP_LEVEL.test(lines[end]!)) end++;
  return lines.slice(start, end).join("\n");
}
