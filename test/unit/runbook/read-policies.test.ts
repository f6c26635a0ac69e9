import { mkdtempSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunbook } from "../../../src/runbook/load-runbook.js";
import { readPolicies } from "../../../src/runbook/read-policies.js";
import { SHIPPED_RUNBOOK } from "../../support/paths.js";

const dir = mkdtempSync(path.join(tmpdir(), "rotabot-policies-"));
let files = 0;

/** The shipped runbook with `edit` applied, written to a file of its own. */
async function runbookWith(edit: (text: string) => string): Promise<string> {
  const file = path.join(dir, `runbook-${++files}.yml`);
  writeFileSync(file, edit(await readFile(SHIPPED_RUNBOOK, "utf8")));
  return file;
}

/** readPolicies with a loadRunbook that counts its calls. */
async function read(file: string) {
  let whole = 0;
  const result = await readPolicies(file, (f) => {
    whole++;
    return loadRunbook(f);
  });
  return { result, whole };
}

describe("readPolicies (what rotabot age needs of the runbook)", () => {
  it("reads the shipped runbook's policies from their block alone, as the whole runbook gives them", async () => {
    const full = await loadRunbook(SHIPPED_RUNBOOK);
    if (!full.ok) throw new Error(full.problems.join("\n"));
    const { result, whole } = await read(SHIPPED_RUNBOOK);
    expect(whole).toBe(0);
    expect(result).toEqual({ ok: true, policies: full.runbook.policies });
  });

  it("does not validate the steps: a broken procedure does not stop the age report", async () => {
    const file = await runbookWith((t) => t.replace("kind: run\n", "kind: no_such_kind\n"));
    expect((await loadRunbook(file)).ok).toBe(false);
    const { result, whole } = await read(file);
    expect(whole).toBe(0);
    expect(result.ok).toBe(true);
  });

  it.each([
    ["a policy the schema refuses", (t: string) => t.replace("every: 6 months", "every: sometimes")],
    ["two policies blocks", (t: string) => `${t}\npolicies:\n  other: {every: 1 month}\n`],
    ["a quoted key", (t: string) => t.replace(/^policies:/m, '"policies":')],
    [
      "an alias to an anchor outside the block",
      (t: string) => t.replace(/^version: 1$/m, "version: &six 1").replace("every: 6 months", "every: *six"),
    ],
    ["a second document", (t: string) => `${t}\n---\nversion: 1\n`],
  ])("with %s, loads the whole runbook instead and answers as it does", async (_name, edit) => {
    const file = await runbookWith(edit);
    const full = await loadRunbook(file);
    const { result, whole } = await read(file);
    expect(whole).toBe(1);
    expect(result).toEqual(full.ok ? { ok: true, policies: full.runbook.policies } : full);
  });

  it("a missing file is said as the whole load says it", async () => {
    const { result, whole } = await read(path.join(dir, "nowhere.yml"));
    expect(whole).toBe(1);
    expect(result).toMatchObject({ ok: false, problems: [expect.stringContaining("cannot read the runbook")] });
  });
});
