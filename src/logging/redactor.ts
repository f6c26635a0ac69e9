/** Replaces known secret values, in every form they commonly take, with a marker. */
export interface Redactor {
  /** Starts hiding a value (and its encodings) from now on. Values under 6 characters are refused. */
  add(value: string): void;
  /** Hides every value of 6 characters or more (shorter ones would mangle ordinary text); cheap when all are known. */
  addAll(values: readonly string[]): void;
  redact(text: string): string;
}

export const REDACTED = "[redacted]";

/** The forms a secret takes when a program prints it: raw, base64, URL-encoded, JSON-escaped. */
export function secretForms(value: string): string[] {
  const forms = new Set([
    value,
    Buffer.from(value).toString("base64"),
    Buffer.from(value).toString("base64url"),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
  ]);
  return [...forms].filter((form) => form.length > 0);
}

/** Creates a redactor; the longest forms are replaced first so that no fragment of one survives. */
export function createRedactor(initial: readonly string[] = []): Redactor {
  const forms = new Set<string>();
  let ordered: string[] = [];
  const known = new Set<string>();
  const add = (value: string) => {
    if (value.length < 6)
      throw new Error("refusing to redact a value shorter than 6 characters: it would mangle ordinary text");
    if (known.has(value)) return;
    known.add(value);
    for (const form of secretForms(value)) forms.add(form);
    ordered = [...forms].sort((a, b) => b.length - a.length);
  };
  initial.forEach(add);
  return {
    add,
    addAll(values) {
      const fresh = values.filter((v) => v.length >= 6 && !known.has(v));
      if (fresh.length === 0) return;
      for (const value of fresh) {
        known.add(value);
        for (const form of secretForms(value)) forms.add(form);
      }
      ordered = [...forms].sort((a, b) => b.length - a.length);
    },
    redact(text) {
      let result = text;
      for (const form of ordered) if (result.includes(form)) result = result.split(form).join(REDACTED);
      return result;
    },
  };
}
