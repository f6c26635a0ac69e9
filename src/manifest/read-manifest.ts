import { readFile } from "node:fs/promises";
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Pair } from "yaml";
import { NESTED, scanBlockFormat, type RawEntry, type RawField } from "./read-block-format.js";
import { parseCalendarDate, type CalendarDate } from "../time/calendar-date.js";
import { parseInterval, type Interval } from "../time/interval.js";

/** Where the manifest lives inside an infra checkout (the runbook's canonical file). */
export const MANIFEST_PATH = "infra/group_vars/all/_secrets_manifest.yml";

/** One secret as the manifest describes it. */
export interface ManifestEntry {
  key: string;
  category: string;
  owner: string | null;
  lastRotation: CalendarDate | null;
  rotateEvery: Interval | null;
  description: string | null;
  line: number;
}

/** Something wrong in the manifest, with the line to look at. */
export interface ManifestProblem {
  file: string;
  line: number;
  key?: string;
  message: string;
}

export type ReadManifestResult =
  { ok: true; entries: ManifestEntry[]; problems: ManifestProblem[] } | { ok: false; problems: ManifestProblem[] };

export interface ManifestRules {
  /** Categories the runbook defines; any other is reported. */
  categories: ReadonlySet<string>;
  /** A last_rotation after this day is reported as lying in the future. */
  asOf: CalendarDate;
}

/** Reads and checks `_secrets_manifest.yml`; bad entries are reported and left out, the rest kept. */
export async function readManifest(file: string, rules: ManifestRules): Promise<ReadManifestResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    return {
      ok: false,
      problems: [
        {
          file,
          line: 0,
          message: `${reason}: set INFRA_DIR (or --infra/--manifest) to the infra checkout that holds ${MANIFEST_PATH}`,
        },
      ],
    };
  }
  return parseManifest(text, file, rules);
}

/** Parses manifest text; `file` is used only in problem reports. */
export function parseManifest(text: string, file: string, rules: ManifestRules): ReadManifestResult {
  let entries: ManifestEntry[] = [];
  let problems: ManifestProblem[] = [];
  const take = (entry: RawEntry) => {
    const result = readEntry(entry, rules);
    if ("message" in result) problems.push({ file, ...result });
    else entries.push(result);
  };
  // Each entry is checked as soon as it is read; outside the block format, the yaml library reads it all again.
  if (scanBlockFormat(text, take)) return { ok: true, entries, problems };
  [entries, problems] = [[], []];
  const raw = parseWithYaml(text, file);
  if (!Array.isArray(raw)) return raw;
  for (const entry of raw) take(entry);
  return { ok: true, entries, problems };
}

/**
 * The full YAML parse, for any layout the block-format reader does not know; its errors are
 * the reports. Exported so that a test can compare the two readers.
 */
export function parseWithYaml(text: string, file: string): RawEntry[] | { ok: false; problems: ManifestProblem[] } {
  const lines = new LineCounter();
  // The library's own duplicate-key check compares each key with every key before it (quadratic:
  // minutes at 50,000 entries); findDuplicateKeys does the same check in one pass.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line,
        message: `YAML syntax error: ${e.message.split("\n")[0]}; fix the file and run again`,
      })),
    };
  }
  const duplicates = findDuplicateKeys(doc, (offset) => lines.linePos(offset).line);
  if (duplicates.length > 0) return { ok: false, problems: duplicates.map((d) => ({ file, ...d })) };
  const root = doc.contents;
  const manifest = isMap(root) ? root.get("secrets_manifest", true) : undefined;
  if (!isMap(manifest)) {
    return {
      ok: false,
      problems: [
        {
          file,
          line: 1,
          message:
            "the file needs a top-level `secrets_manifest:` mapping of vault keys to entries (see docs/runbook.md, 'The manifest')",
        },
      ],
    };
  }
  return manifest.items.map((pair) => rawEntry(pair, (offset) => lines.linePos(offset).line));
}

function rawEntry(pair: Pair, lineAt: (offset: number) => number): RawEntry {
  const keyNode = pair.key;
  const line = isScalar(keyNode) && keyNode.range ? lineAt(keyNode.range[0]) : 0;
  const key = isScalar(keyNode) ? String(keyNode.value) : "";
  if (!isMap(pair.value)) return { key, line, fields: undefined };
  const fields = new Map<string, RawField>();
  for (const field of pair.value.items) {
    if (!isScalar(field.key)) continue;
    const node = field.value;
    if (!isScalar(node)) {
      fields.set(String(field.key.value), { value: NESTED, line });
      continue;
    }
    const value = node.value;
    const text =
      value === null || value === ""
        ? null
        : typeof value === "string" || typeof value === "number" || typeof value === "boolean"
          ? String(value)
          : NESTED;
    fields.set(String(field.key.value), { value: text, line: node.range ? lineAt(node.range[0]) : line });
  }
  return { key, line, fields };
}

/** Every key that repeats an earlier key of the same mapping, anywhere in the document; linear time. */
function findDuplicateKeys(doc: Document, lineAt: (offset: number) => number): Omit<ManifestProblem, "file">[] {
  const problems: Omit<ManifestProblem, "file">[] = [];
  visit(doc, {
    Map(_, map) {
      const firstLine = new Map<string, number>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        const id = `${typeof key.value}:${String(key.value)}`;
        const line = key.range ? lineAt(key.range[0]) : 0;
        const first = firstLine.get(id);
        if (first === undefined) firstLine.set(id, line);
        else
          problems.push({
            line,
            message: `duplicate key "${String(key.value)}" (first at line ${first}); keep one of them and run again`,
          });
      }
    },
  });
  return problems.sort((a, b) => a.line - b.line);
}

type EntryOrProblem = ManifestEntry | Omit<ManifestProblem, "file">;

function readEntry({ key, line, fields }: RawEntry, rules: ManifestRules): EntryOrProblem {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    return { line, message: `"${key}" is not a vault variable name (letters, digits, underscores)` };
  }
  if (!fields) {
    return { line, key, message: `${key}: expected a mapping with at least \`category:\`` };
  }
  const fieldLine = (name: string) => fields.get(name)?.line ?? line;
  /** The field as text; null when empty or `~`, undefined when absent, NESTED for a list or map. */
  const scalar = (name: string) => fields.get(name)?.value;
  const problem = (name: string, message: string) => ({
    line: fieldLine(name),
    key,
    message: `${key}.${name}: ${message}`,
  });

  const category = scalar("category");
  if (typeof category !== "string") {
    return problem("category", `missing; add \`category: <${[...rules.categories].join("|")}>\``);
  }
  if (!rules.categories.has(category)) {
    return problem("category", `unknown category "${category}"; use one of ${[...rules.categories].join(", ")}`);
  }

  const rawDate = scalar("last_rotation");
  let lastRotation: CalendarDate | null = null;
  if (rawDate === NESTED) return problem("last_rotation", "expected one date such as 2026-03-01");
  if (typeof rawDate === "string") {
    const date = parseCalendarDate(rawDate);
    if (!date) return problem("last_rotation", `"${rawDate}" is not a date; write it as YYYY-MM-DD`);
    if (date > rules.asOf)
      return problem("last_rotation", `${date} is in the future (today is ${rules.asOf}); correct the date`);
    lastRotation = date;
  }

  const rawInterval = scalar("rotate_every");
  let rotateEvery: Interval | null = null;
  if (rawInterval === NESTED) return problem("rotate_every", 'expected one interval such as "6 months"');
  if (typeof rawInterval === "string") {
    const interval = parseInterval(rawInterval);
    if (!interval)
      return problem(
        "rotate_every",
        `"${rawInterval}" is not an interval; write N days|weeks|months|years, e.g. "6 months"`,
      );
    rotateEvery = interval;
  }

  const optionalText = (name: string) => {
    const value = scalar(name);
    return typeof value === "string" ? value : null;
  };
  return {
    key,
    category,
    owner: optionalText("owner"),
    lastRotation,
    rotateEvery,
    description: optionalText("description"),
    line,
  };
}
