import { readFile } from "node:fs/promises";
import path from "node:path";
import type { FileReplacer } from "../fs/replace-file.js";
import { fail, type Result } from "../result.js";

/**
 * One CHANGELOG line per rotation: the key, the rotation id and the operator, never a value; a
 * compromise rotation adds its reason and its exposure window (`incident`).
 */
export function changelogLine(
  key: string,
  rotationId: string,
  operator: string,
  date: string,
  incident?: string,
): string {
  return `- ${date}: rotated \`${key}\` (rotation ${rotationId}, by ${operator})${incident ? `; ${incident}` : ""}`;
}

type ChangelogResult<T> = Result<T, "invalid_changelog">;

/**
 * Reads CHANGELOG.md and checks that it is one a rotation may build on: not empty, no NUL
 * bytes, valid UTF-8, with a title. A missing file is a new changelog. A damaged one is refused
 * with the command that restores it, never "repaired" into a file holding only the new entry.
 */
export async function readChangelog(file: string): Promise<ChangelogResult<{ text: string }>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, text: "# Changelog\n" };
    return fail("invalid_changelog", `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const restore = `restore it from git (cd ${path.dirname(file)} && git checkout -- ${path.basename(file)}), then retry`;
  const refuse = (what: string) =>
    fail("invalid_changelog", `${file} ${what}, so rotabot will not add to it: ${restore}`);
  if (bytes.length === 0) return refuse("is empty (0 bytes; a crash or an editor truncated it)");
  if (bytes.includes(0)) return refuse("holds NUL bytes (a crash left it damaged)");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return refuse("is not valid UTF-8");
  }
  const lines = text.split("\n");
  const titled = lines.some((l, i) => /^# \S/.test(l) || (/\S/.test(l) && /^=+\s*$/.test(lines[i + 1] ?? "")));
  if (!titled) return refuse('has no title line ("# Changelog"): earlier content is missing');
  return { ok: true, text };
}

/**
 * Adds the line under `## [Unreleased]` / `### Security`, creating either heading (and the file)
 * when missing, and replaces the file atomically. `added` is false when the line is already
 * there (a resumed rotation).
 */
export async function addChangelogEntry(
  file: string,
  line: string,
  files: FileReplacer,
): Promise<ChangelogResult<{ added: boolean }>> {
  const read = await readChangelog(file);
  if (!read.ok) return read;
  const { text } = read;
  if (text.includes(line)) return { ok: true, added: false };
  const lines = text.split("\n");
  let unreleased = lines.findIndex((l) => /^## \[Unreleased\]/i.test(l));
  if (unreleased === -1) {
    const firstRelease = lines.findIndex((l) => l.startsWith("## "));
    unreleased = firstRelease === -1 ? lines.length : firstRelease;
    lines.splice(unreleased, 0, "## [Unreleased]", "");
  }
  const sectionEnd = (() => {
    const next = lines.findIndex((l, i) => i > unreleased && l.startsWith("## "));
    return next === -1 ? lines.length : next;
  })();
  let security = lines.findIndex((l, i) => i > unreleased && i < sectionEnd && /^### Security/i.test(l));
  if (security === -1) {
    lines.splice(unreleased + 1, 0, "", "### Security");
    security = unreleased + 2;
  }
  lines.splice(security + 1, 0, line);
  // Only the lines around the insertion are tidied (no double blank lines); the rest stays byte for byte.
  const from = Math.max(0, unreleased - 1);
  const to = Math.min(lines.length, security + 3);
  const tidied = lines.slice(from, to).filter((l, i, all) => !(l === "" && i > 0 && all[i - 1] === ""));
  lines.splice(from, to - from, ...tidied);
  const result = lines.join("\n");
  await files.write(file, "changelog", result.endsWith("\n") ? result : `${result}\n`);
  return { ok: true, added: true };
}
