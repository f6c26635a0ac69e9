import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/logging/create-logger.js";
import { createRedactor, secretForms } from "../../../src/logging/redactor.js";

const SECRET = 's3cr3t/Value+with=odd&chars"';

describe("redaction", () => {
  it("hides a secret in raw, base64, URL-encoded and JSON-escaped form", () => {
    const redactor = createRedactor([SECRET]);
    for (const form of secretForms(SECRET))
      expect(redactor.redact(`before ${form} after`)).toBe("before [redacted] after");
    expect(secretForms(SECRET)).toHaveLength(5);
  });

  it("refuses values too short to redact safely", () => {
    expect(() => createRedactor(["abc"])).toThrow(/shorter than 6/);
  });

  it("keeps known secrets and sensitive fields out of every log line", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: "info", redactor: createRedactor([SECRET]), stream: sink });
    logger.info({ token: "field-value-1", nested: { password: "field-value-2" } }, `message with ${SECRET}`);
    logger.error({ err: new Error(`failed for ${encodeURIComponent(SECRET)}`) }, "boom");
    const all = lines.join("");
    expect(lines).toHaveLength(2);
    expect(all).not.toContain("field-value-1");
    expect(all).not.toContain("field-value-2");
    for (const form of secretForms(SECRET)) expect(all).not.toContain(form);
    expect(all).toContain("[redacted]");
  });
});
