import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { allowedEnv } from "../../src/exec/allowed-env.js";
import { createAnsibleVaultCli } from "../../src/vault/ansible-vault-cli.js";
import { createVault } from "../../src/vault/create-vault.js";
import { createFileReplacer } from "../../src/fs/replace-file.js";

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
  return { dir, passwordFile, vaultFile, backupDir, stateDir: mkdtempSync(path.join(tmpdir(), "rotabot-state-")) };
}

/** Plaintexts this test process has decrypted, keyed by the encrypted bytes and the password. */
const decrypted = new Map<string, string>();

/**
 * Decrypts with the real binary, independently of rotabot's code. Each distinct encrypted content
 * (with its password) is decrypted once per test process: the same bytes give the same plaintext,
 * and every ansible-vault run costs about half a CPU second and blocks this process (and the fake
 * Telegram server it hosts) meanwhile. A failure is never remembered.
 */
export function decryptVault(vaultFile: string, passwordFile: string): string {
  const key = createHash("sha256")
    .update(readFileSync(vaultFile))
    .update("\0")
    .update(readFileSync(passwordFile))
    .digest("hex");
  const known = decrypted.get(key);
  if (known !== undefined) return known;
  const plaintext = execFileSync("ansible-vault", ["view", "--vault-password-file", passwordFile, vaultFile], {
    env: { PATH: process.env.PATH, PAGER: "cat" },
  }).toString();
  decrypted.set(key, plaintext);
  return plaintext;
}

/** rotabot's vault over these files; `env` is what ansible-vault runs with (a test may put a wrapper first on PATH). */
export function vaultFor(
  files: { vaultFile: string; passwordFile: string; backupDir: string; stateDir?: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
  onValues?: (values: readonly string[]) => void,
) {
  const { vaultFile, passwordFile, backupDir } = files;
  return createVault({
    ...(onValues ? { onValues } : {}),
    vaultFile,
    passwordFile,
    backupDir,
    cli: createAnsibleVaultCli({ passwordFile, env: allowedEnv(env) }),
    files: createFileReplacer({
      stateDir: files.stateDir ?? path.join(path.dirname(backupDir), "state"),
      targets: [vaultFile],
    }),
  });
}
