import { randomInt } from "node:crypto";

const ALPHABETS = {
  alphanumeric: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
  hex: "0123456789abcdef",
  urlsafe: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
} as const;
export type Alphabet = keyof typeof ALPHABETS;

/** A random ASCII secret from node:crypto, uniform over the alphabet (no modulo bias). */
export function generateSecret(length: number, alphabet: Alphabet): string {
  const chars = ALPHABETS[alphabet];
  return Array.from({ length }, () => chars[randomInt(chars.length)]).join("");
}
