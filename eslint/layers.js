// @ts-check
/**
 * rotabot's dependency direction, lowest layer first: a module may import (types included) only
 * from its own layer or a lower one, so layers never import each other both ways. See
 * docs/development.md, "Dependency direction".
 */
import path from "node:path";

/** Each layer: paths under the project root (a folder ends in "/"). */
export const LAYERS = [
  ["src/result.ts", "src/build-info.ts", "src/time/", "src/yaml/", "src/fs/"],
  ["src/logging/", "src/model/"],
  ["src/telegram/", "src/schema/", "src/config/", "src/bot/protocol/"],
  ["src/exec/", "src/vault/", "src/git/", "src/manifest/", "src/changelog/", "src/services/", "src/ansible/"],
  ["src/checks/"],
  ["src/steps/"],
  ["src/runbook/"],
  ["src/age/", "src/rotation/", "src/rotation-day/"],
  ["src/audit/", "src/reminders/", "src/doctor/", "src/preflight/"],
  ["src/app/"],
  ["conversations/"],
  ["src/bot/"],
  ["src/sandbox/"],
  ["src/cli/", "src/main.ts"],
];

/** The layer of a project file: its longest matching prefix decides (src/bot/protocol/ before src/bot/). */
function layerOf(relative) {
  let best = { layer: -1, length: -1 };
  LAYERS.forEach((prefixes, layer) => {
    for (const prefix of prefixes) {
      const matches = prefix.endsWith("/") ? relative.startsWith(prefix) : relative === prefix;
      if (matches && prefix.length > best.length) best = { layer, length: prefix.length };
    }
  });
  return best.layer;
}

/** @type {import("eslint").Rule.RuleModule} */
const layersRule = {
  meta: {
    type: "problem",
    docs: { description: "imports point down the layers of docs/development.md" },
    schema: [],
    messages: {
      upward:
        "{{from}} (layer {{fromLayer}}) may not import {{to}} (layer {{toLayer}}): dependencies point down the layers in eslint/layers.js; move the shared part down, or pass it in as a dependency",
      unlisted: "{{file}} is in no layer of eslint/layers.js: add its folder there",
    },
  },
  create(context) {
    const root = context.cwd;
    const file = path.relative(root, context.filename).split(path.sep).join("/");
    const fromLayer = layerOf(file);
    if (!file.startsWith("src/") && !file.startsWith("conversations/")) return {};
    if (fromLayer === -1) {
      return { Program: (node) => context.report({ node, messageId: "unlisted", data: { file } }) };
    }
    const check = (node, source) => {
      if (typeof source !== "string" || !source.startsWith(".")) return;
      const target = path
        .relative(root, path.resolve(path.dirname(context.filename), source))
        .split(path.sep)
        .join("/")
        .replace(/\.js$/, ".ts");
      const toLayer = layerOf(target);
      if (toLayer > fromLayer) {
        context.report({ node, messageId: "upward", data: { from: file, fromLayer, to: target, toLayer } });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === "Literal" && check(node, node.source.value),
    };
  },
};

export default { rules: { layers: layersRule } };
