/** A "billion laughs": nine levels of nine aliases each, 9^9 strings once expanded. */
export const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ..."bcdefghi".split("").map((name, i) => `${name}: &${name} [${Array(9).fill(`*${"abcdefghi"[i]!}`).join(",")}]`),
  "",
].join("\n");

/** The same bomb where a manifest keeps its entries. */
export const MANIFEST_ALIAS_BOMB = `${ALIAS_BOMB}secrets_manifest:\n  vault_a_api_token: *i\n  vault_b_api_token:\n    category: api_token\n    owner: *i\n`;
