#!/usr/bin/env node
// Writes <package>/dist/build-info.json: the version and the git commit this build was made from,
// so that `rotabot --version` can name the commit where no .git exists (the installed release).
//
//   node scripts/write-build-info.mjs [PACKAGE_DIR]     (run by `npm run build`; default: this checkout)
//
// commit is "unknown" when PACKAGE_DIR is not the top of a git work tree (a source tarball) or
// git is missing; dirty is true when the work tree differs from the commit (tracked changes or
// untracked files), so the build is not exactly that commit. No timestamp: the same tree builds the
// same file, and the install role names releases after version and commit.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, ".."));
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

/** Runs git in the package folder; undefined when git fails or is missing. */
function git(...args) {
  try {
    return execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
}

const top = git("rev-parse", "--show-toplevel")?.trim();
const inOwnRepository = top !== undefined && realpathSync(top) === realpathSync(root);
const head = inOwnRepository ? git("rev-parse", "--verify", "HEAD")?.trim() : undefined;
const commit = head !== undefined && /^[0-9a-f]{40}$/.test(head) ? head : "unknown";
const status = commit === "unknown" ? undefined : git("status", "--porcelain");
const info = { version, commit, dirty: status === undefined || status.trim() !== "" };

mkdirSync(path.join(root, "dist"), { recursive: true });
writeFileSync(path.join(root, "dist", "build-info.json"), `${JSON.stringify(info, null, 2)}\n`);
process.stdout.write(
  `dist/build-info.json: rotabot ${version}, commit ${commit}${info.dirty && commit !== "unknown" ? " (modified)" : ""}\n`,
);
