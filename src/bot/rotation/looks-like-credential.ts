/** A bot token, wherever it comes from: digits, a colon, 30+ letters. */
export const BOT_TOKEN = /\b\d{5,20}:[A-Za-z0-9_-]{30,64}\b/;

/** Shannon entropy in bits per character. */
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

/**
 * A long random-looking string: 20+ letters, digits, `_ - + =` in one run, with a part of 10+
 * characters between `-` or `_` that mixes letters and digits (so `deploy-notifications-2024`
 * is not one), about as varied as random text. A password, a PAT, an API key, a DSN's key.
 */
function isRandomLooking(run: string): boolean {
  if (run.length < 20) return false;
  const mixed = (part: string) => part.length >= 10 && /\d/.test(part) && /[A-Za-z]/.test(part);
  return run.split(/[-_]/).some(mixed) && entropy(run) >= 3.3;
}

/**
 * Why a message looks like a credential, or undefined: a bot token or a long random-looking
 * string anywhere in it (every format a rotation collects is one or the other).
 */
export function credentialIn(text: string): string | undefined {
  if (BOT_TOKEN.test(text)) return "a bot token";
  if (text.split(/[^A-Za-z0-9_\-+=]+/).some(isRandomLooking))
    return "a long random-looking string (a token or password)";
  return undefined;
}
