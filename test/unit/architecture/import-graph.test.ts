import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../support/paths.js";

const IMPORT = /(?:from|import)\s*\(?\s*"([^"]+)"/g;
/** `import type` and `export type` are erased from the build: they load nothing at run time. */
const TYPE_ONLY = /^\s*(?:import|export)\s+type\b/;

interface Imports {
  /** Project files, resolved from the importer. */
  files: string[];
  /** Package and node: imports, as written. */
  packages: string[];
}

/** Each source file's imports; `typeOnly: false` leaves out what only `import type` names. */
function imports(typeOnly = true): Map<string, Imports> {
  const files = ["src", "conversations"].flatMap((dir) =>
    readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => path.join(dir, f)),
  );
  const graph = new Map<string, Imports>();
  for (const file of files) {
    // One statement a match: `;` ends every import statement in this code base (Prettier adds it).
    const statements = readFileSync(path.join(PROJECT_ROOT, file), "utf8").split(";");
    const specifiers = statements
      .filter((statement) => typeOnly || !TYPE_ONLY.test(statement.replace(/^(?:\s*(?:\/\/.*|\/\*[\s\S]*?\*\/))*/, "")))
      .flatMap((statement) => [...statement.matchAll(IMPORT)].map((m) => m[1]!));
    graph.set(file, {
      files: specifiers
        .filter((s) => s.startsWith("."))
        .map((s) => path.normalize(path.join(path.dirname(file), s)).replace(/\.js$/, ".ts")),
      packages: specifiers.filter((s) => !s.startsWith(".")),
    });
  }
  return graph;
}

/** Every relative import of every source file, `import type` and `export ... from` included. */
function importGraph(): Map<string, string[]> {
  return new Map([...imports()].map(([file, { files }]) => [file, files]));
}

/**
 * The folder of a file, as the layers in eslint/layers.js name them: its directory, except that
 * the files at the top of src/ (main.ts, result.ts, build-info.ts) stand alone, each in its own layer.
 */
function folderOf(file: string): string {
  const folder = path.dirname(file);
  return folder === "src" ? file : folder;
}

/** The folder graph: an edge wherever a file of one folder imports a file of another. */
function folderGraph(files: Map<string, string[]>): Map<string, string[]> {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of files) {
    const from = folderOf(file);
    const edges = folders.get(from) ?? new Set<string>();
    for (const target of targets) if (folderOf(target) !== from) edges.add(folderOf(target));
    folders.set(from, edges);
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges]]));
}

/** What loading `entry` loads at run time: project files and packages. */
function runtimeClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const graph = imports(false);
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const { files: targets, packages: named } = graph.get(file) ?? { files: [], packages: [] };
    named.forEach((p) => packages.add(p));
    targets.forEach(visit);
  };
  visit(entry);
  return { files, packages };
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
  it("has no cycle between files, type imports included", () => {
    expect(findCycle(importGraph())).toBeUndefined();
  });

  it("has no cycle between folders, type imports included: each folder sits in one layer", () => {
    expect(findCycle(folderGraph(importGraph()))).toBeUndefined();
  });

  it("keeps the pure core pure: the state machine loads no file writing, vault or yaml at run time", () => {
    const { files, packages } = runtimeClosure("src/rotation/transitions.ts");
    expect([...files].filter((f) => !/^src\/(rotation|model)\/|^src\/result\.ts$/.test(f))).toEqual([]);
    expect([...packages]).toEqual([]);
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

  it("finds a folder cycle where no file cycle is (the folder check can fail)", () => {
    // src/rotation/ before issue 24: the model at the bottom, the engine on top, the runbook between.
    const files = new Map([
      ["src/rotation/engine.ts", ["src/runbook/schema.ts"]],
      ["src/runbook/schema.ts", ["src/rotation/steps/registry.ts"]],
      ["src/rotation/steps/registry.ts", ["src/rotation/model.ts"]],
      ["src/rotation/model.ts", []],
      ["src/main.ts", ["src/cli/run.ts"]],
      ["src/cli/run.ts", ["src/result.ts"]],
    ]);
    expect(findCycle(files)).toBeUndefined();
    expect(findCycle(folderGraph(files))).toEqual([
      "src/rotation",
      "src/runbook",
      "src/rotation/steps",
      "src/rotation",
    ]);
  });
});
