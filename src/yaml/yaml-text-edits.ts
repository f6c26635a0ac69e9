import { isNode, type Pair } from "yaml";

/**
 * Line-level edits of YAML text guided by the parser's node ranges: what an edit does not touch
 * stays byte for byte (comments, quoting, spacing), where re-serializing the document would
 * re-space inline comments and re-quote values.
 */

/** Offset of the first character of the line holding `offset`. */
export function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset just past the newline that ends the line holding `offset` (or the end of the text). */
export function lineEnd(text: string, offset: number): number {
  const newline = text.indexOf("\n", offset);
  return newline === -1 ? text.length : newline + 1;
}

/** The column of `offset` on its line. */
export function columnOf(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

/** The source span [start, end) of a node's value, without trailing comments; undefined without a range. */
export function valueSpan(node: unknown): [number, number] | undefined {
  return isNode(node) && node.range ? [node.range[0], node.range[1]] : undefined;
}

/**
 * The whole lines a block-mapping pair occupies: from the start of its key's line to the end of
 * the line where its value ends (with that line's comment and newline).
 */
export function pairLines(text: string, pair: Pair): [number, number] | undefined {
  const key = valueSpan(pair.key);
  if (!key) return undefined;
  const value = valueSpan(pair.value) ?? key;
  const last = Math.max(key[1], value[1]);
  // A block scalar's range already ends after its last newline.
  const end = last > 0 && text[last - 1] === "\n" ? last : lineEnd(text, last);
  return [lineStart(text, key[0]), end];
}

/** `text` with [start, end) replaced by `insert`. */
export function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/** A key written plain only when YAML reads it back as the same string. */
export const isPlainKey = (key: string) =>
  /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(key);
