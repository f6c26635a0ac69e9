import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createFileReplacer } from "../../src/fs/replace-file.js";
import { PROJECT_ROOT } from "../support/paths.js";
import { decryptVault, makeVaultFile, vaultFor } from "../support/vault-fixture.js";
import { withRunMark } from "../support/sweep-processes.js";

// Spacing, quoting and comments as people write them: a rotation must change only the keys it touches.
const PLAIN = `---
# Akira vault
vault_nats_password: "old-nats-password-0123456789"    # NATS, rotated every 6 months
vault_telegram_bot_token: "123456:OLDTOKENabcdefghijklmnopqrstuvwxyz"
# postgres below
vault_postgres_app_password: 'old-pg-password-0123456789'  # app user
other_setting:   42
`;

describe("vault against the real ansible-vault", () => {
  it("adds <key>_new beside the key, keeping every other key, the order and the comments", async () => {
    const files = makeVaultFile(PLAIN);
    const vault = vaultFor(files);
    const added = await vault.addNew("vault_nats_password", "new-nats-password-ABCDEFGHIJ");
    expect(added).toMatchObject({ ok: true });
    const text = decryptVault(files.vaultFile, files.passwordFile);
    expect(text).toBe(
      PLAIN.replace("6 months\n", '6 months\nvault_nats_password_new: "new-nats-password-ABCDEFGHIJ"\n'),
    );
    expect(readdirSync(files.backupDir)).toHaveLength(1);
    expect(await vault.read("vault_nats_password_new")).toEqual({ ok: true, value: "new-nats-password-ABCDEFGHIJ" });
  });

  it("promotes in one rewrite: old value gone, _new renamed in the old place", async () => {
    const files = makeVaultFile(PLAIN);
    const vault = vaultFor(files);
    await vault.addNew("vault_postgres_app_password", "new-pg-password-ABCDEFGHIJ");
    expect(await vault.promote("vault_postgres_app_password")).toMatchObject({ ok: true });
    const text = decryptVault(files.vaultFile, files.passwordFile);
    // The inline comment on the rotated key survives, with every other line byte for byte.
    expect(text).toBe(
      PLAIN.replace("'old-pg-password-0123456789'  # app user", '"new-pg-password-ABCDEFGHIJ"  # app user'),
    );
    expect(text).not.toContain("old-pg-password");
    expect(text).not.toContain("_new");
    expect((await vault.listKeys()).ok && ((await vault.listKeys()) as { keys: string[] }).keys).toEqual([
      "vault_nats_password",
      "vault_telegram_bot_token",
      "vault_postgres_app_password",
      "other_setting",
    ]);
    expect(await vault.promote("vault_postgres_app_password")).toMatchObject({ ok: false, reason: "no_new" });
  });

  it("drops <key>_new, and dropping an absent one changes nothing", async () => {
    const files = makeVaultFile(PLAIN);
    const vault = vaultFor(files);
    await vault.addNew("vault_nats_password", "new-nats-password-ABCDEFGHIJ");
    expect(await vault.dropNew("vault_nats_password")).toMatchObject({ ok: true });
    expect(decryptVault(files.vaultFile, files.passwordFile)).toBe(PLAIN);
    const before = readFileSync(files.vaultFile);
    expect(await vault.dropNew("vault_nats_password")).toEqual({ ok: true, backup: undefined });
    expect(readFileSync(files.vaultFile)).toEqual(before);
  });

  it("refuses to overwrite a _new left by an earlier attempt unless told to replace it", async () => {
    const files = makeVaultFile(PLAIN);
    const vault = vaultFor(files);
    await vault.addNew("vault_nats_password", "first-attempt-value-123456");
    const again = await vault.addNew("vault_nats_password", "second-attempt-value-123456");
    expect(again).toMatchObject({
      ok: false,
      reason: "new_exists",
      message: expect.stringMatching(/reuse it, or replace it/) as string,
    });
    expect(await vault.addNew("vault_nats_password", "second-attempt-value-123456", { replace: true })).toMatchObject({
      ok: true,
    });
    expect(await vault.read("vault_nats_password_new")).toMatchObject({ value: "second-attempt-value-123456" });
  });

  it("changes nothing with a wrong password, a missing password file or an unencrypted vault, and says what to do", async () => {
    const files = makeVaultFile(PLAIN);
    const before = readFileSync(files.vaultFile);
    writeFileSync(files.passwordFile, "wrong-password\n");
    const wrong = await vaultFor(files).addNew("vault_nats_password", "new-nats-password-ABCDEFGHIJ");
    expect(wrong).toMatchObject({
      ok: false,
      reason: "wrong_password",
      message: expect.stringContaining("does not decrypt") as string,
    });
    expect(readFileSync(files.vaultFile)).toEqual(before);
    const missing = await vaultFor({ ...files, passwordFile: path.join(files.dir, "nope") }).read("x");
    expect(missing).toMatchObject({
      ok: false,
      reason: "password_file",
      message: expect.stringContaining("set VAULT_PASSWORD_FILE") as string,
    });
    const plainFile = path.join(files.dir, "plain.yml");
    writeFileSync(plainFile, PLAIN);
    const plain = await vaultFor({ ...files, vaultFile: plainFile }).read("x");
    expect(plain).toMatchObject({ ok: false, reason: "not_encrypted" });
    expect(readFileSync(files.vaultFile)).toEqual(before);
    expect(readdirSync(files.dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("warns when the password file is readable by others", async () => {
    const files = makeVaultFile(PLAIN);
    chmodSync(files.passwordFile, 0o644);
    expect(await vaultFor(files).listKeys()).toMatchObject({
      ok: true,
      warnings: [expect.stringContaining("chmod 600") as string],
    });
  });

  it("refuses an empty value", async () => {
    const files = makeVaultFile(PLAIN);
    expect(await vaultFor(files).addNew("vault_nats_password", "  ")).toMatchObject({ ok: false, reason: "invalid" });
  });

  /** Runs test/support/fixtures/write-vault.mjs with an ansible-vault that encrypts for real, then hangs; kills it there. */
  async function killMidWrite(files: ReturnType<typeof makeVaultFile>) {
    const shimDir = mkdtempSync(path.join(tmpdir(), "shim-"));
    const marker = path.join(shimDir, "encrypted");
    writeFileSync(
      path.join(shimDir, "ansible-vault"),
      `#!/bin/sh\n/usr/bin/ansible-vault "$@"; rc=$?\n[ "$1" = encrypt ] && { touch ${marker}; sleep 30; }\nexit $rc\n`,
      { mode: 0o755 },
    );
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(PROJECT_ROOT, "test/support/fixtures/write-vault.mjs"),
        files.vaultFile,
        files.passwordFile,
        files.backupDir,
        "vault_nats_password",
        files.stateDir,
      ],
      {
        env: withRunMark({ PATH: `${shimDir}:${process.env.PATH}` }),
        cwd: PROJECT_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    await expect.poll(() => existsSync(marker), { timeout: 15_000, interval: 50 }).toBe(true);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("close", resolve));
  }
  const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.includes(".rotabot-"));

  it("leaves the old vault intact and no encrypted copy in the vault's folder when the writer is killed mid-write", async () => {
    const files = makeVaultFile(PLAIN);
    const before = readFileSync(files.vaultFile);
    await killMidWrite(files);
    expect(readFileSync(files.vaultFile)).toEqual(before);
    expect(decryptVault(files.vaultFile, files.passwordFile)).toBe(PLAIN);
    // The complete encrypted copy went to STATE_DIR (same file system), where git cannot commit it.
    expect(leftovers(files.dir)).toEqual([]);
    expect(leftovers(path.join(files.stateDir, "tmp"))).toHaveLength(1);
    const vault = vaultFor(files);
    expect(await vault.addNew("vault_nats_password", "after-crash-value-1234567")).toMatchObject({ ok: true });
    expect(await createFileReplacer({ stateDir: files.stateDir }).sweepTemps()).toHaveLength(1);
    expect(leftovers(path.join(files.stateDir, "tmp"))).toEqual([]);
  });

  it("with STATE_DIR on another file system, writes beside the vault and the sweep removes what a kill left", async () => {
    const files = { ...makeVaultFile(PLAIN), stateDir: mkdtempSync("/dev/shm/rotabot-state-") };
    expect(statSync(files.stateDir).dev).not.toBe(statSync(files.dir).dev);
    await killMidWrite(files);
    const [left] = leftovers(files.dir);
    expect(left).toMatch(/^\.vault\.yml\.rotabot-\d+-[0-9a-z]+-[0-9a-f]{8}\.tmp$/);
    // A temp whose writer still runs (this process) is left alone; the dead writer's goes.
    const live = path.join(files.dir, `.vault.yml.rotabot-${process.pid}-mine-0123abcd.tmp`);
    writeFileSync(live, "in use");
    const swept = await createFileReplacer({
      stateDir: files.stateDir,
      targets: [files.vaultFile],
      processToken: "mine",
    }).sweepTemps();
    expect(swept).toEqual([path.join(files.dir, left!)]);
    expect(leftovers(files.dir)).toEqual([path.basename(live)]);
    expect(decryptVault(files.vaultFile, files.passwordFile)).toBe(PLAIN);
  });

  it("decrypts a vault content once: reads and writes reuse the plaintext until the file or the password changes", async () => {
    const files = makeVaultFile(PLAIN);
    // A wrapper first on PATH logs each call and runs the real ansible-vault.
    const shimDir = mkdtempSync(path.join(tmpdir(), "count-"));
    const calls = path.join(shimDir, "calls.log");
    writeFileSync(
      path.join(shimDir, "ansible-vault"),
      `#!/bin/sh\necho "$1" >> ${calls}\nexec /usr/bin/ansible-vault "$@"\n`,
      { mode: 0o755 },
    );
    const logged = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);
    const vault = vaultFor(files, { ...process.env, PATH: `${shimDir}:${process.env.PATH}` });
    const key = "vault_nats_password";

    expect(await vault.read(key)).toEqual({ ok: true, value: "old-nats-password-0123456789" });
    await vault.read(`${key}_new`);
    await vault.listKeys();
    expect(logged()).toEqual(["view"]);
    expect(await vault.addNew(key, "new-nats-password-ABCDEFGHIJ")).toMatchObject({ ok: true });
    expect(await vault.read(`${key}_new`)).toEqual({ ok: true, value: "new-nats-password-ABCDEFGHIJ" });
    expect(await vault.promote(key)).toMatchObject({ ok: true });
    expect(await vault.read(key)).toEqual({ ok: true, value: "new-nats-password-ABCDEFGHIJ" });
    // Each write: one encrypt, and one decrypt of the written file that also seeds the cache.
    expect(logged()).toEqual(["view", "encrypt", "view", "encrypt", "view"]);

    // Someone edits the vault by hand: new bytes, decrypted again.
    const edited = decryptVault(files.vaultFile, files.passwordFile).replace(
      "other_setting:   42",
      "other_setting: 43",
    );
    reencrypt(edited, files);
    expect(await vault.read("other_setting")).toEqual({ ok: true, value: "43" });
    expect(logged()).toHaveLength(6);

    // The password file changes: never answered from memory (a wrong password must fail).
    const password = readFileSync(files.passwordFile);
    writeFileSync(files.passwordFile, "not-the-password\n");
    expect(await vault.read(key)).toMatchObject({ ok: false, reason: "wrong_password" });
    expect(logged()).toHaveLength(7);
    // The right password again: the same bytes and password as the plaintext in memory.
    writeFileSync(files.passwordFile, password);
    expect(await vault.read(key)).toMatchObject({ ok: true });
    expect(logged()).toHaveLength(7);
  });

  it("learns the vault's values for the exposure guard, parsing the vault again only when a file changed", async () => {
    const files = makeVaultFile(PLAIN);
    const given: (readonly string[])[] = [];
    const vault = vaultFor(files, process.env, (values) => given.push(values));
    expect(await vault.learnValues()).toEqual({ ok: true });
    expect(given).toHaveLength(1);
    expect(given[0]).toContain("old-nats-password-0123456789");
    // Unchanged files: nothing to learn, nothing parsed or given again.
    expect(await vault.learnValues()).toEqual({ ok: true });
    expect(given).toHaveLength(1);
    // Edited by hand: the new value is learned before the next message is checked.
    reencrypt(PLAIN.replace("other_setting:   42", "vault_added_by_hand: added-by-hand-0123456789"), files);
    expect(await vault.learnValues()).toEqual({ ok: true });
    expect(given).toHaveLength(2);
    expect(given[1]).toContain("added-by-hand-0123456789");
    // A wrong password is said, never answered from what was learned.
    writeFileSync(files.passwordFile, "not-the-password\n");
    expect(await vault.learnValues()).toMatchObject({ ok: false, reason: "wrong_password" });
  });
});

/** Encrypts `plaintext` over the vault with the real binary, as `ansible-vault edit` would. */
function reencrypt(plaintext: string, files: { vaultFile: string; passwordFile: string }) {
  execFileSync(
    "ansible-vault",
    ["encrypt", "--vault-password-file", files.passwordFile, "--output", files.vaultFile, "-"],
    { input: plaintext, env: { PATH: process.env.PATH } },
  );
}
