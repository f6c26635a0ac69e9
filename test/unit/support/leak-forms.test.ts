import { describe, expect, it } from "vitest";
import { createRedactor } from "../../../src/logging/redactor.js";
import { findLeaks, leakForms } from "../../support/leak-forms.js";

const VALUE = "n3w-S3cret/with+odd=chars&<'\">ü";

describe("the leak scan's forms (independent of the redactor's)", () => {
  it("finds a value in forms the redactor does not hide: hex, HTML, mid-stream base64, a half", () => {
    const redactor = createRedactor([VALUE]);
    const basicAuth = `Authorization: Basic ${Buffer.from(`user:${VALUE}`).toString("base64")}`;
    const missed = [
      Buffer.from(VALUE).toString("hex"),
      `<code>${VALUE.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")}</code>`,
      basicAuth,
      `line cut at 150 characters: ${VALUE.slice(0, 20)}…`,
    ];
    for (const text of missed) {
      expect(redactor.redact(text), text).toBe(text);
      expect(findLeaks(text, [VALUE]), text).not.toEqual([]);
    }
  });

  it("names how a value leaked, and finds nothing in text without it", () => {
    expect(findLeaks(`token=${encodeURIComponent(VALUE)}`, [VALUE])).toContain(
      `URL-encoded: ${encodeURIComponent(VALUE)}`,
    );
    expect(findLeaks("ends in …ü: the last 4 characters are shown on purpose", [VALUE])).toEqual([]);
    expect(findLeaks(Buffer.from(`x${VALUE}`).toString("base64"), [VALUE])).toEqual([
      expect.stringMatching(/^base64 at offset 1: /),
    ]);
  });

  it("lists each form once, every one of them non-empty", () => {
    const texts = leakForms("abcdefgh").map((f) => f.text);
    expect(new Set(texts).size).toBe(texts.length);
    expect(texts.every((t) => t.length > 0)).toBe(true);
  });
});
