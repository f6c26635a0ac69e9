import { readFile } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parseDocument, YAMLMap, type Document, type Pair } from "yaml";
import type { FileReplacer } from "../fs/replace-file.js";
import { fail, type Result } from "../result.js";
import { columnOf, isPlainKey, pairLines, splice, valueSpan } from "../yaml/yaml-text-edits.js";

type Data = { secrets_manifest: Record<string, Record<string, unknown> | null> } & Record<string, unknown>;

/**
 * Sets `secrets_manifest.<key>.last_rotation` to the rotation date; adds the entry (with its
 * category) when the manifest lacks it. The edit is made on the text at the date's place, so a
 * rotation changes only that date (comments, quoting and spacing of every other line stay byte
 * for byte), and the file is replaced atomically.
 */
export async function setLastRotation(
  file: string,
  key: string,
  date: string,
  category: string,
  files: FileReplacer,
): Promise<Result<{ added: boolean }, "unreadable">> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return fail("unreadable", `cannot read the manifest ${file}; set last_rotation of ${key} to ${date} by hand`);
  }
  const doc = parseDocument(text);
  const manifest = isMap(doc.contents) ? doc.contents.get("secrets_manifest", true) : undefined;
  if (doc.errors.length > 0 || !isMap(manifest)) {
    return fail(
      "unreadable",
      `the manifest ${file} is not valid (run rotabot age to see why); set last_rotation of ${key} to ${date} by hand`,
    );
  }
  const entry = manifest.get(key, true);
  const added = !isMap(entry);
  const intended = doc.toJS() as Data;
  intended.secrets_manifest[key] = added
    ? { category, last_rotation: date }
    : { ...intended.secrets_manifest[key], last_rotation: date };

  const edited = editText(text, manifest, key, date, category);
  const next = edited === undefined ? undefined : parseDocument(edited);
  const updated =
    next && next.errors.length === 0 && isDeepStrictEqual(next.toJS(), intended)
      ? edited!
      : reserialize(doc, manifest, key, date, category);
  if (updated !== text) await files.write(file, "manifest", updated);
  return { ok: true, added };
}

/** The minimal text edit; undefined for a layout it does not handle (flow mappings, odd keys). */
function editText(text: string, manifest: YAMLMap, key: string, date: string, category: string): string | undefined {
  if (manifest.flow) return undefined;
  const entry = manifest.get(key, true);
  if (isMap(entry)) {
    if (entry.flow) return undefined;
    const pair = entry.items.find((p: Pair) => isScalar(p.key) && p.key.value === "last_rotation");
    if (pair) {
      const span = valueSpan(pair.value);
      if (!span) return undefined;
      const raw = text.slice(span[0], span[1]);
      if (raw === "") return splice(text, span[0], span[1], ` ${date}`);
      const quote = raw[0] === '"' || raw[0] === "'" ? raw[0] : "";
      return splice(text, span[0], span[1], `${quote}${date}${quote}`);
    }
    return appendPair(text, entry, `last_rotation: ${date}`);
  }
  if (entry !== undefined || !isPlainKey(key) || !isPlainKey(category)) return undefined;
  const parentColumn = (p: Pair) => columnOf(text, valueSpan(p.key)![0]);
  const sibling = manifest.items.find((p: Pair) => isMap(p.value) && !p.value.flow && p.value.items.length > 0);
  const step = sibling ? childColumn(text, sibling.value as YAMLMap) - parentColumn(sibling) : 2;
  const indent = " ".repeat(step);
  return appendPair(text, manifest, `${key}:\n${indent}category: ${category}\n${indent}last_rotation: ${date}`);
}

/** Adds `line` (with the mapping's indentation on each of its lines) after the mapping's last pair. */
function appendPair(text: string, map: YAMLMap, line: string): string | undefined {
  const last = map.items.at(-1);
  const lines = last && pairLines(text, last);
  if (!last || !lines) return undefined;
  const indent = " ".repeat(childColumn(text, map));
  const block = line
    .split("\n")
    .map((l) => `${indent}${l}`)
    .join("\n");
  const gap = text[lines[1] - 1] === "\n" ? "" : "\n";
  return splice(text, lines[1], lines[1], `${gap}${block}\n`);
}

const childColumn = (text: string, map: YAMLMap) => columnOf(text, valueSpan(map.items[0]!.key)![0]);

/** The parsed document edited and re-serialized: correct, but it may re-space other lines. */
function reserialize(doc: Document, manifest: YAMLMap, key: string, date: string, category: string): string {
  const entry = manifest.get(key, true);
  if (isMap(entry)) {
    const old = entry.get("last_rotation", true);
    const node = doc.createNode(date);
    if (isScalar(old)) {
      node.comment = old.comment;
      node.commentBefore = old.commentBefore;
    }
    entry.set("last_rotation", node);
  } else {
    const fresh = new YAMLMap();
    fresh.set("category", category);
    fresh.set("last_rotation", date);
    manifest.set(key, fresh);
  }
  return doc.toString({ lineWidth: 0 });
}
