import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkCanStart, type CanStartDeps } from "../../../src/rotation/check-can-start.js";
import { createSecretLocks, type LockHolder } from "../../../src/rotation/create-secret-locks.js";
import type { StartRequest } from "../../../src/rotation/new-rotation.js";

const NOW = new Date("2026-11-27T10:00:00.000Z");
const SELF = { pid: 4242, host: "ops1" };
const holderOf = (over: Partial<LockHolder> = {}): LockHolder => ({
  rotationId: "20261127-1000-abcd",
  initiator: "@alice",
  startedAt: NOW.toISOString(),
  ...over,
});

function lockDir() {
  const stateDir = mkdtempSync(path.join(tmpdir(), "rotabot-locks-"));
  return { stateDir, locks: createSecretLocks(stateDir), dir: path.join(stateDir, "locks") };
}

describe("secret locks", () => {
  it("takes a free lock whole, refuses a taken one with the next action, and leaves no temp file", async () => {
    const { locks, dir } = lockDir();
    expect(await locks.acquire("vault_x", holderOf({ ...SELF }))).toEqual({ ok: true });
    expect(await locks.read("vault_x")).toEqual({ state: "held", holder: holderOf({ ...SELF }) });
    const second = await locks.acquire("vault_x", holderOf({ rotationId: "20261127-1001-beef", initiator: "@bob" }));
    expect(second).toEqual({
      ok: false,
      refusal:
        "vault_x is already being rotated by @alice (rotation 20261127-1000-abcd): /status (or rotabot status) shows where it stands; wait for it to end, or ask @alice to finish or abort it, then start again",
    });
    expect(readdirSync(dir)).toEqual(["vault_x.lock"]);
  });

  it("an empty or corrupt lock file (a crash while it was written) is held, and the refusal names the file and the way out", async () => {
    for (const content of ["", '{"rotationId":']) {
      const { locks, dir } = lockDir();
      writeFileSync(path.join(dir, "vault_x.lock"), content);
      const taken = await Promise.race([
        locks.acquire("vault_x", holderOf()),
        new Promise((resolve) => setTimeout(() => resolve("still looping"), 2_000)),
      ]);
      expect(taken).toEqual({
        ok: false,
        refusal: `the lock of vault_x (${path.join(dir, "vault_x.lock")}) is empty or unreadable, so rotabot cannot tell which rotation holds it (a crash while it was written leaves it so). Check that no rotation of vault_x is running (/status, or rotabot status), then remove that file and start again`,
      });
      expect(readdirSync(dir)).toEqual(["vault_x.lock"]);
    }
  });
});

describe("secret locks and the vault's claim are never read or written through a link", () => {
  it("a symbolic link or a folder at a lock's name is refused, naming what it is; the link's target is not read or removed", async () => {
    const elsewhere = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-elsewhere-")), "holder.json");
    // Looks like a lock held by someone: the old code read it through the link and named @mallory.
    writeFileSync(elsewhere, JSON.stringify(holderOf({ initiator: "@mallory" })));
    for (const [name, make] of [
      ["a symbolic link", (f: string) => symlinkSync(elsewhere, f)],
      ["a folder", (f: string) => mkdirSync(f)],
    ] as const) {
      const { locks, dir } = lockDir();
      const lock = path.join(dir, "vault_x.lock");
      make(lock);
      expect(await locks.acquire("vault_x", holderOf())).toEqual({
        ok: false,
        refusal: `the lock of vault_x (${lock}) is ${name}, not a lock file rotabot wrote (it never follows a link or reads anything else there). Find out who made it, remove it (rm ${lock}), then start again`,
      });
      await locks.release("vault_x", holderOf({ initiator: "@mallory" }).rotationId);
      expect(lstatSync(lock).isFile()).toBe(false);

      const claimFile = path.join(dir, "vault.claim");
      make(claimFile);
      expect(await locks.claimVault(holderOf())).toEqual({ state: "unreadable", file: claimFile, what: `is ${name}` });
    }
    expect(readFileSync(elsewhere, "utf8")).toContain("@mallory");
  });
});

describe("checkCanStart and a lock whose rotation has no journal yet", () => {
  const PAST_THE_LOCK = "went past the lock";
  function depsFor(stateDir: string, alive: boolean): CanStartDeps {
    const locks = createSecretLocks(stateDir);
    return {
      locks,
      load: () => Promise.resolve(undefined),
      inspect: (id: string) => Promise.resolve({ status: "missing", id }),
      self: SELF,
      isAlive: () => alive,
      now: () => NOW,
      runbook: { files: { vault: "v", manifest: "m", changelog: "c" } },
      git: {
        isRepository: () => Promise.reject(new Error(PAST_THE_LOCK)),
      },
    } as unknown as CanStartDeps;
  }
  const request = { key: "vault_x", procedure: "p" } as unknown as StartRequest;

  it("is held while its holder lives and the lock is young: the journal is about to be written", async () => {
    const { stateDir, locks } = lockDir();
    await locks.acquire(
      "vault_x",
      holderOf({ pid: 99, host: SELF.host, startedAt: new Date(NOW.getTime() - 5_000).toISOString() }),
    );
    const checked = await checkCanStart(depsFor(stateDir, true), request);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.message).toMatch(/^vault_x is already being rotated by @alice/);
    expect((await locks.read("vault_x")).state).toBe("held");
  });

  it("is stale once its holder's process is gone, or after a minute", async () => {
    const gone = lockDir();
    await gone.locks.acquire("vault_x", holderOf({ pid: 99, host: SELF.host }));
    await expect(checkCanStart(depsFor(gone.stateDir, false), request)).rejects.toThrow(PAST_THE_LOCK);
    expect((await gone.locks.read("vault_x")).state).toBe("free");

    const old = lockDir();
    await old.locks.acquire("vault_x", holderOf({ startedAt: new Date(NOW.getTime() - 61_000).toISOString() }));
    await expect(checkCanStart(depsFor(old.stateDir, true), request)).rejects.toThrow(PAST_THE_LOCK);
    expect((await old.locks.read("vault_x")).state).toBe("free");
  });

  it("an unreadable lock refuses the start, naming the file", async () => {
    const { stateDir, dir } = lockDir();
    writeFileSync(path.join(dir, "vault_x.lock"), "");
    const checked = await checkCanStart(depsFor(stateDir, true), request);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.message).toContain(path.join(dir, "vault_x.lock"));
  });
});
