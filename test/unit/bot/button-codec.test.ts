import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUTTON_PATTERNS,
  decodeButton,
  encodeButton,
  pickPresses,
  planPresses,
  REVOKED_NONCE,
  type Button,
} from "../../../src/bot/protocol/button-codec.js";
import { PROJECT_ROOT } from "../../support/paths.js";

const KEY = "vault_billing_api_token";
/** The longest of each kind: Telegram refuses callback data over 64 bytes (core.telegram.org/bots/api#inlinekeyboardbutton). */
const EVERY_KIND: Button[] = [
  { kind: "prompt", rotationId: "20260101-0930-ab12", nonce: "0123abcd", action: "another_value" },
  { kind: "prompt", rotationId: "20260101-0930-ab12", nonce: REVOKED_NONCE, action: "revoked" },
  { kind: "plan", nonce: "0123abcd", ownerId: Number.MAX_SAFE_INTEGER, action: "cancel" },
  { kind: "pick", nonce: "0123abcd", index: 999 },
  { kind: "commands", key: "k".repeat(60) },
  { kind: "preflight", key: "k".repeat(60) },
  { kind: "due", key: "k".repeat(60) },
  { kind: "day", nonce: "0123abcd", action: "stop" },
  { kind: "day", nonce: "0123abcd", action: "later" },
];
const encode = (button: Button) => encodeButton(button as Extract<Button, { kind: "commands" }>);

describe("the button codec", () => {
  it("decodes what it encodes, for every kind, within Telegram's 64 bytes", () => {
    for (const button of EVERY_KIND) {
      const data = encode(button)!;
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(decodeButton(data)).toEqual(button);
    }
  });

  it("writes the formats the bot has always sent (pressed cards in chats keep working)", () => {
    expect(encodeButton({ kind: "prompt", rotationId: "20260101-0930-ab12", nonce: "0123abcd", action: "go" })).toBe(
      "rt|20260101-0930-ab12|0123abcd|g",
    );
    expect(encodeButton({ kind: "plan", nonce: "0123abcd", ownerId: 42, action: "start" })).toBe(
      "plan|0123abcd|42|start",
    );
    expect(encodeButton({ kind: "pick", nonce: "0123abcd", index: 2 })).toBe("pick|0123abcd|2");
    expect(encodeButton({ kind: "commands", key: KEY })).toBe(`cmd|${KEY}`);
    expect(encodeButton({ kind: "preflight", key: KEY })).toBe(`pre|${KEY}`);
    expect(encodeButton({ kind: "due", key: KEY })).toBe(`due|${KEY}`);
  });

  it("leaves out a button whose vault key cannot travel whole", () => {
    for (const kind of ["commands", "preflight", "due"] as const) {
      expect(encodeButton({ kind, key: "k".repeat(61) })).toBeUndefined();
      expect(encodeButton({ kind, key: "vault|other" })).toBeUndefined();
      expect(encodeButton({ kind, key: "" })).toBeUndefined();
    }
  });

  it("matches each kind's data with its own pattern only", () => {
    for (const button of EVERY_KIND) {
      const data = encode(button)!;
      const matching = Object.entries(BUTTON_PATTERNS)
        .filter(([, pattern]) => pattern.test(data))
        .map(([kind]) => kind);
      expect(matching).toEqual([button.kind]);
    }
  });

  it("decodes nothing it did not make: forged, truncated or foreign data", () => {
    for (const data of [
      "rt|20260101-0930-ab12|0123abcd|z",
      "rt|20260101-0930-ab12|0123abcd|g|extra",
      "rt|2026-0930-ab12|0123abcd|g",
      "rt|20260101-0930-ab12|0123ABCD|g",
      "plan|0123abcd|42|go",
      "plan|0123abcd|-1|start",
      "pick|0123abcd|1000",
      "pick|0123abcd|",
      `due|${"k".repeat(61)}`,
      "due|vault x",
      "cmd|",
      "other|thing",
      "",
    ])
      expect(decodeButton(data), data).toBeUndefined();
  });

  it("lets a plan card's dialog wait for its own presses only", () => {
    const presses = planPresses("0123abcd", 42);
    expect(presses.test("plan|0123abcd|42|start")).toBe(true);
    expect(presses.test("plan|0123abcd|42|cancel")).toBe(true);
    expect(presses.test("plan|0123abcd|43|start")).toBe(false);
    expect(presses.test("plan|ffffffff|42|start")).toBe(false);
  });

  it("lets a pick wait for the indexes it offered only", () => {
    const presses = pickPresses("0123abcd", 3);
    expect(["pick|0123abcd|0", "pick|0123abcd|2"].every((d) => presses.test(d))).toBe(true);
    for (const forged of ["pick|0123abcd|3", "pick|0123abcd|99", "pick|0123abcd|01", "pick|0123abcd|-1"])
      expect(presses.test(forged), forged).toBe(false);
  });

  it("is the only place a callback format is written or matched", () => {
    const CODEC = path.join("src", "bot", "protocol", "button-codec.ts");
    // A format's prefix as code writes it: in a string or template, or at the start of a pattern.
    const FORMAT = /["`]\^?(?:rt|plan|pick|cmd|pre|due|day)\\?\||\/\^(?:rt|plan|pick|cmd|pre|due|day)\\\|/;
    const writers = ["src", "conversations"]
      .flatMap((dir) =>
        readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: "utf8" })
          .filter((f) => f.endsWith(".ts"))
          .map((f) => path.join(dir, f)),
      )
      .filter((file) => file !== CODEC)
      .filter((file) =>
        readFileSync(path.join(PROJECT_ROOT, file), "utf8")
          .split("\n")
          .some((line) => !/^\s*(\/\/|\*)/.test(line) && FORMAT.test(line)),
      );
    expect(writers).toEqual([]);
  });
});
