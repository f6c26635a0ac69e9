import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parseDocument, Scalar, stringify, type Document, type Pair, type YAMLMap } from "yaml";
import { columnOf, isPlainKey, pairLines, splice, valueSpan } from "../yaml/yaml-text-edits.js";

/** The decrypted vault as text: every edit changes only the lines of the keys it touches. */
export interface VaultDocument {
  keys(): string[];
  get(key: string): string | undefined;
  /** Inserts `key` right after `after` when that key exists, else at the end. */
  insert(key: string, value: string, after?: string): void;
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Replaces `from`'s value with `to`'s and removes `to`, keeping `from`'s place and comments. */
  replaceWith(from: string, to: string): void;
  toString(): string;
}

export type ParseVaultResult = { ok: true; doc: VaultDocument } | { ok: false; message: string };

/** Parses decrypted vault text; the vault must be a mapping of variables. */
export function parseVaultDocument(text: string): ParseVaultResult {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    return {
      ok: false,
      message: `the decrypted vault is not valid YAML (${doc.errors[0]!.message.split("\n")[0]}); fix it with ansible-vault edit`,
    };
  if (doc.contents !== null && !isMap(doc.contents))
    return { ok: false, message: "the decrypted vault is not a mapping of variables; fix it with ansible-vault edit" };
  return { ok: true, doc: wrap(text, doc) };
}

type Data = Record<string, unknown>;
/** A text edit; undefined when the layout is one it does not handle (flow mapping, block scalar `_new`). */
type TextEdit = (text: string, map: YAMLMap | undefined) => string | undefined;

const quoted = (value: string) =>
  // Double quotes for anything YAML could read as another type (numbers, booleans, dates, ~).
  stringify(value, { defaultStringType: "QUOTE_DOUBLE", lineWidth: 0 }).trimEnd();

/**
 * Each edit is made on the text, guided by the parser's node ranges, and kept only when the
 * result parses to exactly the intended variables; otherwise (an unusual layout) the parsed
 * document is edited and re-serialized, which is also correct but may re-space other lines.
 */
function wrap(initial: string, parsed: Document): VaultDocument {
  let text = initial;
  let doc = parsed;
  const mapOf = (d: Document) => (isMap(d.contents) ? d.contents : undefined);
  const pairOf = (map: YAMLMap | undefined, key: string) =>
    map?.items.find((p: Pair) => isScalar(p.key) && String(p.key.value) === key);

  function apply(intended: (data: Data) => void, edit: TextEdit, fallback: (doc: Document, map: YAMLMap) => void) {
    const data = { ...((doc.toJS() as Data | null) ?? {}) };
    intended(data);
    const map = mapOf(doc);
    const edited = map?.flow ? undefined : edit(text, map);
    if (edited !== undefined) {
      const next = parseDocument(edited);
      if (next.errors.length === 0 && isMap(next.contents) && isDeepStrictEqual(next.toJS(), data)) {
        text = edited;
        doc = next;
        return;
      }
    }
    if (!isMap(doc.contents)) doc.contents = doc.createNode({});
    fallback(doc, doc.contents as YAMLMap);
    text = doc.toString({ lineWidth: 0 });
    doc = parseDocument(text);
  }

  const scalarOf = (value: string) => {
    const node = new Scalar(value);
    node.type = Scalar.QUOTE_DOUBLE;
    return node;
  };
  const indexOf = (map: YAMLMap, key: string) =>
    map.items.findIndex((p: Pair) => isScalar(p.key) && String(p.key.value) === key);

  return {
    keys: () => mapOf(doc)?.items.flatMap((p: Pair) => (isScalar(p.key) ? [String(p.key.value)] : [])) ?? [],
    get(key) {
      const value = pairOf(mapOf(doc), key)?.value;
      if (!isScalar(value)) return undefined;
      const scalar: unknown = value.value;
      return typeof scalar === "string" || typeof scalar === "number" || typeof scalar === "boolean"
        ? String(scalar)
        : undefined;
    },
    insert(key, value, after) {
      if (pairOf(mapOf(doc), key)) throw new Error(`vault already has ${key}`);
      apply(
        (data) => (data[key] = value),
        (source, map) => {
          if (!isPlainKey(key)) return undefined;
          const anchor = (after === undefined ? undefined : pairOf(map, after)) ?? map?.items.at(-1);
          const lines = anchor ? pairLines(source, anchor) : undefined;
          const at = lines ? lines[1] : source.length;
          const indent = anchor && lines ? " ".repeat(columnOf(source, valueSpan(anchor.key)![0])) : "";
          const gap = at > 0 && source[at - 1] !== "\n" ? "\n" : "";
          return splice(source, at, at, `${gap}${indent}${key}: ${quoted(value)}\n`);
        },
        (d, map) => {
          const pair = d.createPair(key, scalarOf(value));
          const at = after === undefined ? -1 : indexOf(map, after);
          if (at === -1) map.items.push(pair);
          else map.items.splice(at + 1, 0, pair);
        },
      );
    },
    set(key, value) {
      if (!pairOf(mapOf(doc), key)) throw new Error(`vault has no ${key}`);
      apply(
        (data) => (data[key] = value),
        (source, map) => {
          const span = valueSpan(pairOf(map, key)?.value);
          if (!span) return undefined;
          const newline = source.slice(span[0], span[1]).endsWith("\n") ? "\n" : "";
          return splice(source, span[0], span[1], `${quoted(value)}${newline}`);
        },
        (_d, map) => {
          const pair = map.items[indexOf(map, key)]!;
          pair.value = keepComments(pair.value, scalarOf(value));
        },
      );
    },
    remove(key) {
      if (!pairOf(mapOf(doc), key)) return;
      apply(
        (data) => delete data[key],
        (source, map) => {
          const pair = pairOf(map, key);
          const lines = pair && pairLines(source, pair);
          return lines ? splice(source, lines[0], lines[1], "") : undefined;
        },
        (_d, map) => void map.items.splice(indexOf(map, key), 1),
      );
    },
    replaceWith(from, to) {
      const source = pairOf(mapOf(doc), to);
      if (!source) throw new Error(`vault has no ${to}`);
      const sourceValue: unknown = (doc.toJS() as Data)[to];
      apply(
        (data) => {
          data[from] = sourceValue;
          delete data[to];
        },
        (text, map) => {
          const toPair = pairOf(map, to);
          const fromPair = pairOf(map, from);
          const toSpan = valueSpan(toPair?.value);
          const toLines = toPair && pairLines(text, toPair);
          if (!toSpan || !toLines) return undefined;
          if (!fromPair) {
            const keySpan = valueSpan(toPair.key)!;
            return isPlainKey(from) ? splice(text, keySpan[0], keySpan[1], from) : undefined;
          }
          const fromSpan = valueSpan(fromPair.value);
          const raw = text.slice(toSpan[0], toSpan[1]);
          if (!fromSpan || raw.includes("\n")) return undefined;
          const newline = text.slice(fromSpan[0], fromSpan[1]).endsWith("\n") ? "\n" : "";
          // The later span first, so the earlier one's offsets still hold.
          const edits: [number, number, string][] = [
            [fromSpan[0], fromSpan[1], `${raw}${newline}`],
            [toLines[0], toLines[1], ""],
          ];
          if (toLines[0] < fromSpan[1] && fromSpan[0] < toLines[1]) return undefined;
          return edits.sort((a, b) => b[0] - a[0]).reduce((t, [s, e, insert]) => splice(t, s, e, insert), text);
        },
        (_d, map) => {
          const value = map.items[indexOf(map, to)]!.value;
          const target = indexOf(map, from);
          if (target === -1) {
            (map.items[indexOf(map, to)]!.key as Scalar).value = from;
            return;
          }
          map.items[target]!.value = keepComments(map.items[target]!.value, value);
          map.items.splice(indexOf(map, to), 1);
        },
      );
    },
    toString: () => text,
  };
}

/** The replacement node, carrying the comments that hung on the node it replaces. */
function keepComments(old: unknown, replacement: unknown): unknown {
  if (isScalar(old) && isScalar(replacement)) {
    replacement.comment = old.comment;
    replacement.commentBefore = old.commentBefore;
    replacement.spaceBefore = old.spaceBefore;
  }
  return replacement;
}
