import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readBlockFormat } from "../../../src/manifest/read-block-format.js";
import { MANIFEST_PATH, parseWithYaml } from "../../../src/manifest/read-manifest.js";
import { PROJECT_ROOT } from "../../support/paths.js";

const manifest = (...entries: string[]) => `secrets_manifest:\n${entries.join("\n")}\n`;

/** The fast reader answered, and said what the yaml library says. */
function expectSameAsYaml(text: string) {
  const fast = readBlockFormat(text);
  expect(fast, "the block-format reader declined").toBeDefined();
  expect(fast).toEqual(parseWithYaml(text, "m.yml"));
}

describe("the block-format manifest reader", () => {
  it("reads the shipped example manifest exactly as the yaml library does", () => {
    expectSameAsYaml(readFileSync(path.join(PROJECT_ROOT, "deploy/example-infra", MANIFEST_PATH), "utf8"));
  });

  it("agrees with the yaml library on every kind of value the documented format holds", () => {
    expectSameAsYaml(
      `# head comment\n\nsecrets_manifest:   # the root\n` +
        [
          "  vault_a:   # entry comment",
          "    category: api_token   # comment",
          '    owner: "@team # not a comment"',
          "    single: 'quoted #text'",
          "    last_rotation: 2026-03-01",
          "    rotate_every: 6 months",
          "    description: a#b http://host:8080/x ends with spaces   ",
          "        # a comment line indented deeper",
          "    empty:",
          "    empty_comment:   # nothing",
          "    tilde: ~",
          "    null_word: null",
          "    NULL_word: NULL",
          "    yes_word: yes",
          "    on_word: off",
          "    version: 1.2.3",
          "    ip: 10.0.0.1",
          "    dash-field: x-y",
          "    unicode: Zürich ✓",
          "# a comment at column 0 between entries",
          "  vault_b:",
          "    category: sentry_dsn",
          "    quoted_date: '2026-01-02'",
          '    quoted_number: "42"',
        ].join("\n") +
        "\n",
    );
  });

  it("agrees on other indentations, as long as the file is consistent", () => {
    expectSameAsYaml(
      "secrets_manifest:\n    vault_a:\n        category: api_token\n    vault_b:\n        category: x\n",
    );
  });

  it.each([
    ["a flow mapping", manifest("  vault_a: {category: api_token}")],
    ["an anchor", manifest("  vault_a: &a", "    category: api_token")],
    ["an alias value", manifest("  vault_a:", "    category: *x")],
    ["a block scalar", manifest("  vault_a:", "    description: |", "      two", "      lines")],
    ["a nested list", manifest("  vault_a:", "    owners:", "      - a")],
    ["a nested list at the same indent", manifest("  vault_a:", "    owners:", "    - a")],
    ["a duplicate entry", manifest("  vault_a:", "    category: x", "  vault_a:", "    category: y")],
    ["a duplicate field", manifest("  vault_a:", "    category: x", "    category: y")],
    ["a number", manifest("  vault_a:", "    rotate_every: 12")],
    ["a float", manifest("  vault_a:", "    rotate_every: 1.0")],
    ["a boolean", manifest("  vault_a:", "    owner: true")],
    ["a hex number", manifest("  vault_a:", "    owner: 0x1F")],
    ["a tab", manifest("  vault_a:", "\tcategory: x")],
    ["Windows line ends", manifest("  vault_a:", "    category: x").replaceAll("\n", "\r\n")],
    ["another top-level key", `${manifest("  vault_a:", "    category: x")}other: 1\n`],
    ["a document marker", `---\n${manifest("  vault_a:", "    category: x")}`],
    ["an entry without fields", manifest("  vault_a:", "  vault_b:", "    category: x")],
    ["a last entry without fields", manifest("  vault_a:", "    category: x", "  vault_b:")],
    ["no entries", "secrets_manifest:\n"],
    ["an entry with a value", manifest("  vault_a: api_token")],
    ["a continued plain scalar", manifest("  vault_a:", "    description: one", "      two")],
    ["a quoted string with an escape", manifest("  vault_a:", '    owner: "a\\"b"')],
    ["a quoted key", manifest('  "vault_a":', "    category: x")],
    ["a value with ': '", manifest("  vault_a:", "    description: a: b")],
    ["a tag", manifest("  vault_a:", "    owner: !!str 1")],
    ["a misaligned field", manifest("  vault_a:", "    category: x", "   owner: y")],
  ])("leaves %s to the yaml library", (_, text) => {
    expect(readBlockFormat(text)).toBeUndefined();
  });
});
