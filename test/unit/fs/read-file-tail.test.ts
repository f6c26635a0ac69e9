import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readFileTail } from "../../../src/fs/read-file-tail.js";

describe("the tail of a file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "tail-"));

  it("returns a small file whole, and the last whole lines of a large one with how much was cut", async () => {
    const small = path.join(dir, "small.log");
    writeFileSync(small, "one\ntwo\n");
    expect(await readFileTail(small, 1024)).toEqual({ content: Buffer.from("one\ntwo\n"), cutBytes: 0 });
    const large = path.join(dir, "large.log");
    writeFileSync(large, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join("\n"));
    const tail = await readFileTail(large, 100);
    expect(tail!.content.length).toBeLessThanOrEqual(100);
    expect(tail!.content.toString()).toMatch(/^line \d+\n/);
    expect(tail!.content.toString().endsWith("line 999")).toBe(true);
    expect(tail!.cutBytes + tail!.content.length).toBe(statSync(large).size);
  });

  it("returns nothing for a missing or empty file", async () => {
    expect(await readFileTail(path.join(dir, "missing.log"), 10)).toBeUndefined();
    writeFileSync(path.join(dir, "empty.log"), "");
    expect(await readFileTail(path.join(dir, "empty.log"), 10)).toBeUndefined();
  });
});
