import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { allowedEnv } from "../../src/exec/allowed-env.js";
import { createAnsibleVaultCli } from "../../src/vault/ansible-vault-cli.js";
import { createVault } from "../../src/vault/create-vault.js";

/** A real vault encrypted with a generated password, in a temp folder. */
export function makeVaultFile(plaintext: string, dir = mkdtempSync(path.join(tmpdir(), "rotabot-vault-"))) {
  const passwordFile = path.join(dir, "vault-pass.txt");
  writeFileSync(passwordFile, `${randomBytes(18).toString("base64url")}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  const vaultFile = path.join(dir, "vault.yml");
  execFileSync("ansible-vault", ["encrypt", "--vault-password-file", passwordFile, "--output", vaultFile, "-"], {
    input: plaintext,
    env: { PATH: process.env.PATH },
  });
  const backupDir = path.join(dir, "backups");
  mkdirSync(backupDir, { recursive: true });
  return { dir, passwordFile, vaultFile, backupDir };
}

/** Decrypts with the real binary, independently of rotabot's code. */
export function decryptVault(vaultFile: string, passwordFile: string): string {
  return execFileSync("ansible-vault", ["view", "--vault-password-file", passwordFile, vaultFile], {
    env: { PATH: process.env.PATH, PAGER: "cat" },
  }).toString();
}

export function vaultFor(files: { vaultFile: string; passwordFile: string; backupDir: string }) {
  return createVault({
    ...files,
    cli: createAnsibleVaultCli({ passwordFile: files.passwordFile, env: allowedEnv(process.env) }),
  });
}
