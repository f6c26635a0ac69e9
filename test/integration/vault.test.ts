import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/paths.js";
import { decryptVault, makeVaultFile, vaultFor } from "../support/vault-fixture.js";

const PLAIN = `---
# Akira vault
vault_nats_password: "old-nats-password-0123456789" # NATS
vault_telegram_bot_token: "123456:OLDTOKENabcdefghijklmnopqrstuvwxyz"
# postgres below
vault_postgres_app_password: 'old-pg-password-0123456789'
other_setting: 42
`;

describe("vault against the real ansible-vault", () => {
  it("adds <key>_new beside the key, keeping every other key, the order and the comments", async () => {
    const files = makeVaultFile(PLAIN);
    const vault = vaultFor(files);
    const added = await vault.addNew("vault_nats_password", "new-nats-password-ABCDEFGHIJ");
    expect(added).toMatchObject({ ok: true });
    const text = decryptVault(files.vaultFile, files.passwordFile);
    expect(text).toBe(PLAIN.replace("# NATS\n", '# NATS\nvault_nats_password_new: "new-nats-password-ABCDEFGHIJ"\n'));
    expect(readdirSync(files.backupDir)).toHaveLength(1);
    expect(await vault.read("vault_nats_password_new")).toEqual({ ok: true, value: "new-nats-password-ABCDEFGHIJ" });
  });

  it("promotes in one rewrite: old value gone, _new renamed in the old place", async () => {
    const files = makeVaultFile(PLAIN);
    const vault = vaultFor(files);
    await vault.addNew("vault_postgres_app_password", "new-pg-password-ABCDEFGHIJ");
    expect(await vault.promote("vault_postgres_app_password")).toMatchObject({ ok: true });
    const text = decryptVault(files.vaultFile, files.passwordFile);
    expect(text).toContain(
      '# postgres below\nvault_postgres_app_password: "new-pg-password-ABCDEFGHIJ"\nother_setting: 42',
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

  it("leaves the old vault intact when the writer is killed in the middle of a write", async () => {
    const files = makeVaultFile(PLAIN);
    const before = readFileSync(files.vaultFile);
    // An ansible-vault on PATH that encrypts for real, then hangs: the writer is killed before its rename.
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
        path.join(PROJECT_ROOT, "test/support/fixtures/write-vault.mjs"),
        files.vaultFile,
        files.passwordFile,
        files.backupDir,
        "vault_nats_password",
      ],
      {
        env: { PATH: `${shimDir}:${process.env.PATH}` },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    await expect.poll(() => existsSync(marker), { timeout: 15_000, interval: 50 }).toBe(true);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("close", resolve));
    expect(readFileSync(files.vaultFile)).toEqual(before);
    expect(decryptVault(files.vaultFile, files.passwordFile)).toBe(PLAIN);
    expect(readdirSync(files.dir).some((n) => n.endsWith(".tmp"))).toBe(true);
    expect(await vaultFor(files).addNew("vault_nats_password", "after-crash-value-1234567")).toMatchObject({
      ok: true,
    });
  });
});
