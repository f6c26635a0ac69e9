import { randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { isMap, parseDocument, YAMLMap } from "yaml";
import { fail, type Result } from "../result.js";

/**
 * Sets `secrets_manifest.<key>.last_rotation` to the rotation date, keeping comments, order and
 * unknown fields; adds the entry (with its category) when the manifest lacks it.
 */
export async function setLastRotation(
  file: string,
  key: string,
  date: string,
  category: string,
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
  let added = false;
  if (isMap(entry)) {
    entry.set("last_rotation", doc.createNode(date));
  } else {
    const fresh = new YAMLMap();
    fresh.set("category", category);
    fresh.set("last_rotation", date);
    manifest.set(key, fresh);
    added = true;
  }
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, doc.toString({ lineWidth: 0 }));
  await rename(temp, file);
  return { ok: true, added };
}
