import { isNode, type Document, type LineCounter } from "yaml";

/**
 * The 1-based line of the node at `path` in a parsed YAML document. When the path ends in a
 * field that is missing, the line of its nearest existing parent is returned instead.
 */
export function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/** Formats a zod-style issue path as `procedures[2].steps[0].kind`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("");
}
