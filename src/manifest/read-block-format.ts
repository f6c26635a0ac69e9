/** A field of an entry: its text (null when empty or a YAML null), or NESTED for a list or map. */
export interface RawField {
  value: string | null | typeof NESTED;
  line: number;
}

/** An entry under `secrets_manifest:` before its fields are checked; `fields` undefined when it is not a mapping. */
export interface RawEntry {
  key: string;
  line: number;
  fields: ReadonlyMap<string, RawField> | undefined;
}

export const NESTED = Symbol("nested");

// YAML 1.2 core schema (what the yaml library resolves plain scalars with): these are not strings.
const NOT_A_STRING = [
  /^(?:~|null|Null|NULL)$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^[-+]?[0-9]+$/,
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?\.(?:inf|Inf|INF)$/,
  /^\.(?:nan|NaN|NAN)$/,
];
const NULL = /^(?:~|null|Null|NULL)?$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** `name:` then, after spaces, the rest of the line (value and comment). */
const KEY_LINE = /^( *)([^ #][^:]*):(?: +(.*))?$/;

/**
 * Reads the manifest's documented block format (`secrets_manifest:`, one mapping per entry, one
 * `field: value  # comment` per line) in one pass, about ten times faster than a full YAML parse
 * (`npm run bench`, figure b). It knows only that format: for anything else (flow mappings,
 * anchors, block scalars, a duplicate key, a value YAML would read as a number or boolean, a tab,
 * another top-level key) it returns undefined and the caller parses the file with the yaml
 * library, which also writes the error messages. `test/unit/manifest/read-block-format.test.ts`
 * checks that both readers agree wherever this one answers.
 */
export function readBlockFormat(text: string): RawEntry[] | undefined {
  const entries: RawEntry[] = [];
  return scanBlockFormat(text, (entry) => entries.push(entry)) ? entries : undefined;
}

/**
 * readBlockFormat one entry at a time: `onEntry` gets each entry once all its fields are read, so a
 * caller can turn it into what it keeps and drop the rest (a million entries then never sit in
 * memory twice). Returns false, after any number of entries, when the text is outside the format:
 * the caller then discards what it got and parses the file with the yaml library.
 */
export function scanBlockFormat(text: string, onEntry: (entry: RawEntry) => void): boolean {
  if (/[\t\r\uFEFF]/.test(text)) return false;
  const seen = new Set<string>();
  let current: { key: string; line: number; fields: Map<string, RawField> } | undefined;
  const finish = () => {
    if (current) onEntry(current);
    current = undefined;
  };
  let [rootSeen, entryIndent, fieldIndent] = [false, 0, 0];
  // Line by line without splitting the text first (a million entries are some five million lines).
  for (let start = 0, number = 1; start < text.length; number++) {
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(start, end);
    start = end + 1;
    const trimmed = line.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const match = KEY_LINE.exec(line);
    if (!match) return false;
    const [, spaces = "", name = "", rest = ""] = match;
    const indent = spaces.length;
    const value = scalarOf(rest);
    if (value === undefined || !NAME.test(name)) return false;
    if (indent === 0) {
      if (rootSeen || name !== "secrets_manifest" || value !== null) return false;
      rootSeen = true;
      continue;
    }
    if (!rootSeen) return false;
    entryIndent ||= indent;
    if (indent === entryIndent) {
      if (value !== null || current?.fields.size === 0 || seen.has(name)) return false;
      seen.add(name);
      finish();
      current = { key: name, line: number, fields: new Map() };
      continue;
    }
    fieldIndent ||= indent;
    if (indent !== fieldIndent || indent < entryIndent || !current || current.fields.has(name)) return false;
    current.fields.set(name, { value, line: number });
  }
  // An empty field followed by deeper lines would be a nested value: those lines fail the indent check above.
  if (!rootSeen || seen.size === 0 || current?.fields.size === 0) return false;
  finish();
  return true;
}

/** The value of `rest` (value and optional comment) as a string or null; undefined when outside the format. */
function scalarOf(rest: string): string | null | undefined {
  const quoted = /^(?:"([^"\\]*)"|'([^']*)')(?: +#.*)? *$/.exec(rest);
  if (quoted) return quoted[1] ?? quoted[2]!;
  const hash = rest.indexOf(" #");
  const plain = (hash === -1 ? (rest.startsWith("#") ? "" : rest) : rest.slice(0, hash)).trimEnd();
  if (NULL.test(plain)) return null;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(plain) || plain.includes(": ") || plain.endsWith(":")) return undefined;
  if (NOT_A_STRING.some((pattern) => pattern.test(plain))) return undefined;
  return plain;
}
