import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../support/paths.js";

const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
const quickStart = readme.slice(
  readme.indexOf("## Quick start"),
  readme.indexOf("\n## ", readme.indexOf("## Quick start") + 1),
);
const commandLines = [...quickStart.matchAll(/```sh\n([^\n]+)\n```/g)].map((m) => m[1]);

describe("README quick start", () => {
  it("has exactly two command lines", () => {
    expect(commandLines).toHaveLength(2);
  });

  it("is what CI runs", () => {
    const ci = readFileSync(path.join(PROJECT_ROOT, ".ci/run"), "utf8").trim().split("\n");
    expect(ci[ci.length - 1]).toBe(commandLines[1]);
  });
});
