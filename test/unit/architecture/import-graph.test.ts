import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../support/paths.js";

/** Every relative import of every source file, `import type` and `export ... from` included. */
function importGraph(): Map<string, string[]> {
  const files = ["src", "conversations"].flatMap((dir) =>
    readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => path.join(dir, f)),
  );
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(path.join(PROJECT_ROOT, file), "utf8");
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) =>
      path.normalize(path.join(path.dirname(file), m[1]!)).replace(/\.js$/, ".ts"),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** The first cycle found by depth-first search, as the files in it. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === "done") return undefined;
    if (state.get(file) === "open") return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, "done");
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("the import graph", () => {
  it("has no cycle between files, type imports included (ESLint's layers rule keeps folders one-way)", () => {
    expect(findCycle(importGraph())).toBeUndefined();
  });

  it("keeps the sandbox out of the bot: only the sandbox command imports it", () => {
    const importers = [...importGraph()]
      .filter(
        ([file, targets]) => !file.startsWith("src/sandbox/") && targets.some((t) => t.startsWith("src/sandbox/")),
      )
      .map(([file]) => file);
    expect(importers).toEqual(["src/cli/sandbox-command.ts"]);
  });

  it("finds a cycle when there is one (the check can fail)", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
    ]);
    expect(findCycle(graph)).toEqual(["a.ts", "b.ts", "c.ts", "a.ts"]);
  });
});
