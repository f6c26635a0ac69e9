import { isMap, isScalar, parseDocument, Scalar, type Document, type Pair, type YAMLMap } from "yaml";

/** The decrypted vault as a YAML document: comments and order survive every edit. */
export interface VaultDocument {
  keys(): string[];
  get(key: string): string | undefined;
  /** Inserts `key` right after `after` when that key exists, else at the end. */
  insert(key: string, value: string, after?: string): void;
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Replaces `from`'s value with `to`'s and removes `to`, keeping `from`'s place and comments. */
  replaceWith(from: string, to: string): void;
  toString(): string;
}

export type ParseVaultResult = { ok: true; doc: VaultDocument } | { ok: false; message: string };

/** Parses decrypted vault text; the vault must be a mapping of variables. */
export function parseVaultDocument(text: string): ParseVaultResult {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    return {
      ok: false,
      message: `the decrypted vault is not valid YAML (${doc.errors[0]!.message.split("\n")[0]}); fix it with ansible-vault edit`,
    };
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  if (!isMap(doc.contents))
    return { ok: false, message: "the decrypted vault is not a mapping of variables; fix it with ansible-vault edit" };
  return { ok: true, doc: wrap(doc, doc.contents) };
}

function wrap(doc: Document, map: YAMLMap): VaultDocument {
  const pairIndex = (key: string) => map.items.findIndex((p: Pair) => isScalar(p.key) && String(p.key.value) === key);
  const scalarOf = (value: string) => {
    const node = new Scalar(value);
    // Quote anything YAML could read as another type (numbers, booleans, dates, ~).
    node.type = Scalar.QUOTE_DOUBLE;
    return node;
  };
  return {
    keys: () => map.items.flatMap((p: Pair) => (isScalar(p.key) ? [String(p.key.value)] : [])),
    get(key) {
      const index = pairIndex(key);
      if (index === -1) return undefined;
      const value = map.items[index]!.value;
      if (!isScalar(value)) return undefined;
      const scalar: unknown = value.value;
      return typeof scalar === "string" || typeof scalar === "number" || typeof scalar === "boolean"
        ? String(scalar)
        : undefined;
    },
    insert(key, value, after) {
      if (pairIndex(key) !== -1) throw new Error(`vault already has ${key}`);
      const pair = doc.createPair(key, scalarOf(value));
      const at = after === undefined ? -1 : pairIndex(after);
      if (at === -1) map.items.push(pair);
      else map.items.splice(at + 1, 0, pair);
    },
    set(key, value) {
      const index = pairIndex(key);
      if (index === -1) throw new Error(`vault has no ${key}`);
      map.items[index]!.value = scalarOf(value);
    },
    remove(key) {
      const index = pairIndex(key);
      if (index !== -1) map.items.splice(index, 1);
    },
    replaceWith(from, to) {
      const source = pairIndex(to);
      if (source === -1) throw new Error(`vault has no ${to}`);
      const value = map.items[source]!.value;
      const target = pairIndex(from);
      if (target === -1) {
        (map.items[source]!.key as Scalar).value = from;
        return;
      }
      map.items[target]!.value = value;
      map.items.splice(source, 1);
    },
    toString: () => doc.toString({ lineWidth: 0 }),
  };
}
