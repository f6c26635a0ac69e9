/**
 * The forms in which a secret value can leak, listed independently of the redactor's own list
 * (src/logging/redactor.ts, secretForms): a leak scan that used the redactor's list could only
 * ever find what the redactor already hides. Each form is named, so a finding says how it leaked.
 *
 * Left out on purpose: a reversed value (no program prints one, and it would only add noise), and
 * fragments under half the value (rotabot shows the last 4 characters of a token on purpose).
 */
export interface LeakForm {
  kind: string;
  text: string;
}

/**
 * The characters of base64(`prefix` bytes + value) that depend on the value alone: a value in
 * the middle of an encoded stream (`user:password` in a Basic auth header) is encoded at one of
 * three alignments, and only these characters are the same whatever surrounds it.
 */
function base64Within(value: Buffer, prefix: number, encoding: "base64" | "base64url"): string {
  const encoded = Buffer.concat([Buffer.alloc(prefix), value])
    .toString(encoding)
    .replace(/=+$/, "");
  const first = Math.ceil((prefix * 4) / 3);
  const last = Math.floor(((prefix + value.length) * 8) / 6);
  return encoded.slice(first, last);
}

const percent = (value: string) =>
  [...Buffer.from(value)]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, "0")}`,
    )
    .join("");

const html = (value: string, quote: "named" | "numeric") =>
  value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, quote === "named" ? "&quot;" : "&#34;")
    .replace(/'/g, quote === "named" ? "&#39;" : "&#x27;");

/** Every form of `value` a scan looks for, each once (forms that equal another are dropped). */
export function leakForms(value: string): LeakForm[] {
  const bytes = Buffer.from(value);
  const json = JSON.stringify(value).slice(1, -1);
  const forms: LeakForm[] = [
    { kind: "raw", text: value },
    { kind: "base64", text: bytes.toString("base64") },
    ...[0, 1, 2].map((prefix) => ({ kind: `base64 at offset ${prefix}`, text: base64Within(bytes, prefix, "base64") })),
    ...[0, 1, 2].map((prefix) => ({
      kind: `base64url at offset ${prefix}`,
      text: base64Within(bytes, prefix, "base64url"),
    })),
    { kind: "hex", text: bytes.toString("hex") },
    { kind: "HEX", text: bytes.toString("hex").toUpperCase() },
    { kind: "URL-encoded", text: encodeURIComponent(value) },
    { kind: "URL-encoded, lowercase hex", text: percent(value) },
    { kind: "form-encoded", text: new URLSearchParams({ v: value }).toString().slice(2) },
    { kind: "JSON string", text: json },
    { kind: "JSON string, slashes escaped", text: json.replace(/\//g, "\\/") },
    {
      kind: "JSON string, ASCII only",
      text: json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    },
    { kind: "HTML", text: html(value, "named") },
    { kind: "HTML, numeric entities", text: html(value, "numeric") },
    // A value cut in two (a truncated line, a chunk boundary) leaves one half whole.
    ...(value.length >= 16
      ? [
          { kind: "first half", text: value.slice(0, Math.ceil(value.length / 2)) },
          { kind: "second half", text: value.slice(Math.floor(value.length / 2)) },
        ]
      : []),
  ];
  const seen = new Set<string>();
  return forms.filter((form) => form.text.length > 0 && !seen.has(form.text) && seen.add(form.text));
}

/** The forms of each value found in `text`, as `kind: form` (empty when nothing leaked). */
export function findLeaks(text: string, values: readonly string[]): string[] {
  return values.flatMap((value) =>
    leakForms(value)
      .filter((form) => text.includes(form.text))
      .map((form) => `${form.kind}: ${form.text}`),
  );
}
