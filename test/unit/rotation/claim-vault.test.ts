import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createVaultClaim } from "../../../src/rotation/claim-vault.js";
import { createDeployMarker } from "../../../src/rotation/create-deploy-marker.js";
import { createSecretLocks } from "../../../src/rotation/create-secret-locks.js";
import type { Rotation } from "../../../src/model/rotation.js";

const ALICE = { id: "tg:1", name: "@alice" };
const BOB = { id: "tg:2", name: "@bob" };
const A = { id: "20261127-1000-aaaa", key: "vault_nats_password", initiator: ALICE };
const B = { id: "20261127-1001-bbbb", key: "vault_sentry_dsn", initiator: BOB };

/** Real lock files under a fresh STATE_DIR; rotations' journals as a map whose states the test sets. */
function world(deployMarker?: ReturnType<typeof createDeployMarker>) {
  const stateDir = mkdtempSync(path.join(tmpdir(), "rotabot-claim-"));
  const locks = createSecretLocks(stateDir);
  const states = new Map<string, Rotation["state"]>();
  const claim = createVaultClaim({
    locks,
    load: (id) => {
      const state = states.get(id);
      const r = [A, B].find((x) => x.id === id)!;
      return Promise.resolve(state === undefined ? undefined : ({ ...r, state } as Rotation));
    },
    self: { pid: 4242, host: "ops1" },
    now: () => new Date("2026-11-27T10:00:00.000Z"),
    deployMarker,
  });
  return { locks, states, claim, dir: path.join(stateDir, "locks") };
}

describe("the vault's claim", () => {
  it("is held by the first rotation that writes the vault until it ends; another waits, told which and what to do", async () => {
    const { locks, states, claim, dir } = world();
    states.set(A.id, "running").set(B.id, "awaiting_operator");
    expect(await claim(A)).toEqual({ ok: true });
    expect(await claim(A)).toEqual({ ok: true });
    expect(await claim(B)).toEqual({
      ok: false,
      message:
        "rotation 20261127-1000-aaaa of vault_nats_password (by @alice) has changed the vault and not committed it yet; rotations share the vault file and its commit, so this one waits: /status shows that one; once it is finished or aborted, try again",
    });
    // The secret's lock files are not the claim, and the claim is no secret's lock.
    expect(readdirSync(dir)).toEqual(["vault.claim"]);
    expect(await locks.keyOf(A.id)).toBeUndefined();
    await locks.releaseVault(B.id); // not B's to release
    expect(await claim(B)).toMatchObject({ ok: false });
    await locks.releaseVault(A.id);
    expect(await claim(B)).toEqual({ ok: true });
  });

  it("is taken over from a rotation that ended without releasing it (a crash) or has no journal", async () => {
    for (const state of ["completed", "aborted", undefined] as const) {
      const { states, claim } = world();
      states.set(A.id, "running").set(B.id, "running");
      expect(await claim(A)).toEqual({ ok: true });
      if (state === undefined) states.delete(A.id);
      else states.set(A.id, state);
      expect(await claim(B)).toEqual({ ok: true });
      expect(await claim(A)).toMatchObject({ ok: false });
    }
  });

  it("an empty claim file (a crash while it was written) holds, naming the file and the way out", async () => {
    const { claim, dir } = world();
    writeFileSync(path.join(dir, "vault.claim"), "");
    expect(await claim(A)).toEqual({
      ok: false,
      message: `the vault's claim (${path.join(dir, "vault.claim")}) is empty or unreadable, so rotabot cannot tell which rotation changed the vault (a crash while it was written leaves it so). Check with /status (or rotabot status) that no other rotation is in flight, then remove that file and try again`,
    });
  });

  it("takes the deploy marker with it, so a deploy waits for the rotation; a deploy under way stops the write unless an incident is declared", async () => {
    const infraDir = mkdtempSync(path.join(tmpdir(), "rotabot-marker-"));
    const file = path.join(infraDir, ".deploy-in-progress");
    const marker = createDeployMarker({ file, isAlive: () => true });
    const { states, claim, locks } = world(marker);
    states.set(A.id, "running").set(B.id, "running");
    expect(await claim(A)).toEqual({ ok: true });
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ by: "rotabot", rotationId: A.id });
    await locks.releaseVault(A.id);
    await marker.release(A.id);
    expect(existsSync(file)).toBe(false);

    writeFileSync(file, '{"by":"ci","job":"42"}\n');
    expect(await claim(B)).toEqual({
      ok: false,
      message:
        ".deploy-in-progress in INFRA_DIR says a deploy is running: the runbook says not to rotate during an active deploy. Wait until it is gone, then Retry (or remove .deploy-in-progress if that deploy is over)",
    });
    expect(await claim({ ...B, incident: { reason: "the deploy is the mitigation" } })).toEqual({ ok: true });
    expect(readFileSync(file, "utf8")).toBe('{"by":"ci","job":"42"}\n');
  });

  it("a marker left by a dead rotabot is cleared at start, unless its rotation is still in flight", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-marker-")), ".deploy-in-progress");
    const dead = createDeployMarker({ file, isAlive: () => false });
    expect(await dead.hold(A.id, "Re-deploy backend", false)).toEqual({ ok: true, held: true });
    await dead.clearStale((id) => Promise.resolve(id === A.id));
    expect(existsSync(file)).toBe(true);
    await dead.clearStale(() => Promise.resolve(false));
    expect(existsSync(file)).toBe(false);
  });

  it("refuses a symbolic link at the marker's name, dangling or not, and never creates or overwrites a file through it", async () => {
    const outside = mkdtempSync(path.join(tmpdir(), "rotabot-outside-"));
    const stale = `${JSON.stringify({ by: "rotabot", rotationId: B.id, step: "x", pid: 1, since: "" })}\n`;
    for (const target of ["created-by-rotabot", "existing"]) {
      const infraDir = mkdtempSync(path.join(tmpdir(), "rotabot-marker-"));
      const file = path.join(infraDir, ".deploy-in-progress");
      const victim = path.join(outside, `${target}-${path.basename(infraDir)}`);
      // A marker left by a dead rotabot, reached through the link: the old code rewrote it in place.
      if (target === "existing") writeFileSync(victim, stale);
      symlinkSync(victim, file);
      const marker = createDeployMarker({ file, isAlive: () => false });
      const { states, claim } = world(marker);
      states.set(A.id, "running");
      for (const incident of [undefined, { reason: "the deploy is the mitigation" }]) {
        const refused = await claim({ ...A, ...(incident ? { incident } : {}) });
        expect(refused).toEqual({
          ok: false,
          message: `${file} is a symbolic link, not the deploy marker file rotabot and the deploy pipeline write; rotabot never follows a link there (it would create or overwrite a file outside INFRA_DIR). Find out who made it, remove it (rm ${file}), then Retry. Nothing was changed`,
        });
      }
      expect(existsSync(victim) ? readFileSync(victim, "utf8") : "absent").toBe(
        target === "existing" ? stale : "absent",
      );
      await marker.release(A.id);
      await marker.clearStale(() => Promise.resolve(false));
      expect(lstatSync(file).isSymbolicLink()).toBe(true);
    }
  });

  it("refuses a folder or a named pipe at the marker's name at once (a pipe never hangs it)", async () => {
    for (const make of [(f: string) => mkdirSync(f), (f: string) => execFileSync("mkfifo", [f])]) {
      const file = path.join(mkdtempSync(path.join(tmpdir(), "rotabot-marker-")), ".deploy-in-progress");
      make(file);
      const marker = createDeployMarker({ file, isAlive: () => true });
      const held = await marker.hold(A.id, "a new value is in the vault", false);
      expect(held).toMatchObject({ ok: false, reason: "marker_not_a_file" });
      expect(!held.ok && held.message).toMatch(/ is a (folder|named pipe), not the deploy marker file/);
    }
  });
});
