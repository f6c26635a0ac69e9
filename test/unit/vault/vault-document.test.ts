import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { parseVaultDocument, type VaultDocument } from "../../../src/vault/vault-document.js";

const VAULT = `---
# Akira vault
vault_nats_password: "old-nats"      # NATS: rotated every 6 months
vault_pg: 'old-pg'   # app user
# a block scalar
vault_cert: |
  -----BEGIN-----
  abc
other:   42
`;

const open = (text: string): VaultDocument => {
  const parsed = parseVaultDocument(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.doc;
};
/** The lines that differ between two texts of the same length in lines (or the whole tail). */
const changedLines = (before: string, after: string) => {
  const a = before.split("\n");
  const b = after.split("\n");
  return b.filter((line, i) => a[i] !== line);
};

describe("vault document edits", () => {
  it("promote keeps the rotated key's place, inline comment and spacing; no other line changes", () => {
    const doc = open(VAULT);
    doc.insert("vault_pg_new", "new-pg", "vault_pg");
    expect(doc.toString()).toBe(VAULT.replace("# app user\n", '# app user\nvault_pg_new: "new-pg"\n'));
    doc.replaceWith("vault_pg", "vault_pg_new");
    expect(doc.toString()).toBe(VAULT.replace("'old-pg'   # app user", '"new-pg"   # app user'));
    expect(changedLines(VAULT, doc.toString())).toEqual(['vault_pg: "new-pg"   # app user']);
  });

  it("quotes values YAML would read as another type, and they read back as the same strings", () => {
    const doc = open(VAULT);
    for (const [i, value] of ["123", "true", "~", "2026-01-01", 'a"b\\c', "#x", " lead"].entries())
      doc.insert(`k${i}`, value);
    const data = parseDocument(doc.toString()).toJS() as Record<string, unknown>;
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => data[`k${i}`])).toEqual([
      "123",
      "true",
      "~",
      "2026-01-01",
      'a"b\\c',
      "#x",
      " lead",
    ]);
    expect(doc.toString().startsWith(VAULT)).toBe(true);
  });

  it("sets, removes and promotes next to a block scalar without touching it", () => {
    const doc = open(VAULT);
    doc.insert("vault_cert_new", "NEWCERT", "vault_cert");
    expect(doc.toString()).toBe(VAULT.replace("  abc\n", '  abc\nvault_cert_new: "NEWCERT"\n'));
    doc.set("vault_cert_new", "NEWER");
    doc.replaceWith("vault_cert", "vault_cert_new");
    expect(doc.toString()).toBe(VAULT.replace("|\n  -----BEGIN-----\n  abc\n", '"NEWER"\n'));
    doc.insert("x_new", "v");
    doc.remove("x_new");
    expect(doc.get("vault_cert")).toBe("NEWER");
    expect(doc.toString()).toBe(VAULT.replace("|\n  -----BEGIN-----\n  abc\n", '"NEWER"\n'));
  });

  it("renames _new in place when the old key is absent", () => {
    const doc = open('a: 1\nb_new: "v" # c\n');
    doc.replaceWith("b", "b_new");
    expect(doc.toString()).toBe('a: 1\nb: "v" # c\n');
  });

  it("falls back to re-serializing a layout the line edit does not handle (a flow mapping), still correct", () => {
    const doc = open("{a: 1, b: old}\n");
    doc.insert("b_new", "new", "b");
    doc.replaceWith("b", "b_new");
    expect(parseDocument(doc.toString()).toJS()).toEqual({ a: 1, b: "new" });
    expect(doc.keys()).toEqual(["a", "b"]);
  });

  it("adds the first key to an empty vault", () => {
    const doc = open("# nothing yet\n");
    doc.insert("k_new", "v", "k");
    expect(doc.toString()).toBe('# nothing yet\nk_new: "v"\n');
  });

  it("refuses text that is not a mapping", () => {
    expect(parseVaultDocument("- a\n- b\n")).toMatchObject({ ok: false });
    expect(parseVaultDocument("a: [\n")).toMatchObject({ ok: false });
  });
});
