import { readFile, writeFile } from "node:fs/promises";

/** One CHANGELOG line per rotation: the key, the rotation id and the operator, never a value. */
export function changelogLine(key: string, rotationId: string, operator: string, date: string): string {
  return `- ${date}: rotated \`${key}\` (rotation ${rotationId}, by ${operator})`;
}

/**
 * Adds the line under `## [Unreleased]` / `### Security`, creating either heading (and the file)
 * when missing. Returns false when the line is already there (a resumed rotation).
 */
export async function addChangelogEntry(file: string, line: string): Promise<boolean> {
  const text = await readFile(file, "utf8").catch(() => "# Changelog\n");
  if (text.includes(line)) return false;
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
  const result = lines.join("\n").replace(/\n{3,}/g, "\n\n");
  await writeFile(file, result.endsWith("\n") ? result : `${result}\n`);
  return true;
}
