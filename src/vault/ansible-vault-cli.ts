import { execa } from "execa";

export type VaultCliFailure = {
  ok: false;
  reason: "wrong_password" | "not_encrypted" | "missing_tool" | "failed";
  message: string;
};
export type DecryptResult = { ok: true; plaintext: string } | VaultCliFailure;

export interface AnsibleVaultCliDeps {
  passwordFile: string;
  /** The allowlisted environment; PAGER is forced to cat so that view never waits on a pager. */
  env: Readonly<Record<string, string>>;
}

/**
 * The real ansible-vault binary: plaintext travels only over pipes, never argv or disk.
 * Its stderr never holds plaintext, so it may be quoted in messages.
 */
export function createAnsibleVaultCli({ passwordFile, env }: AnsibleVaultCliDeps) {
  const options = {
    env: { ...env, PAGER: "cat", ANSIBLE_NOCOLOR: "1" },
    extendEnv: false,
    // No exit handler: on SIGTERM rotabot lets a vault write finish (its graceful stop) instead of
    // execa's signal-exit re-raising the signal and killing rotabot mid-write.
    cleanup: false,
    reject: false,
    stripFinalNewline: false,
    timeout: 60_000,
  } as const;
  const failure = (stderr: string, exitCode: number | undefined, file: string): VaultCliFailure => {
    if (exitCode === undefined)
      return {
        ok: false,
        reason: "missing_tool",
        message: "ansible-vault was not found on PATH: install ansible-core (apt-get install ansible-core)",
      };
    if (/Decryption failed/.test(stderr)) {
      return {
        ok: false,
        reason: "wrong_password",
        message: `the vault password in VAULT_PASSWORD_FILE (${passwordFile}) does not decrypt ${file}: check that it is the Akira vault password`,
      };
    }
    if (/input is not vault encrypted data/i.test(stderr)) {
      return {
        ok: false,
        reason: "not_encrypted",
        message: `${file} is not encrypted with ansible-vault: encrypt it with ansible-vault encrypt before rotating`,
      };
    }
    return {
      ok: false,
      reason: "failed",
      message: `ansible-vault failed on ${file}: ${stderr.trim().split("\n").pop() ?? "no message"}`,
    };
  };
  return {
    async decrypt(file: string): Promise<DecryptResult> {
      const result = await execa("ansible-vault", ["view", "--vault-password-file", passwordFile, file], options);
      if (result.exitCode === 0) return { ok: true, plaintext: result.stdout };
      return failure(result.stderr, result.exitCode, file);
    },
    /**
     * Decrypts these exact encrypted bytes (read once by the caller, so the plaintext belongs to
     * the bytes it hashed even if the file changes meanwhile); `file` names them in messages.
     */
    async decryptBytes(encrypted: Buffer, file: string): Promise<DecryptResult> {
      const result = await execa("ansible-vault", ["view", "--vault-password-file", passwordFile, "-"], {
        ...options,
        input: encrypted,
      });
      if (result.exitCode === 0) return { ok: true, plaintext: result.stdout };
      return failure(result.stderr, result.exitCode, file);
    },
    /** Encrypts plaintext from stdin into `output` (which ansible-vault recreates). */
    async encrypt(plaintext: string, output: string): Promise<{ ok: true } | VaultCliFailure> {
      const result = await execa(
        "ansible-vault",
        ["encrypt", "--vault-password-file", passwordFile, "--output", output, "-"],
        { ...options, input: plaintext },
      );
      if (result.exitCode === 0) return { ok: true };
      return failure(result.stderr, result.exitCode, output);
    },
  };
}
export type AnsibleVaultCli = ReturnType<typeof createAnsibleVaultCli>;
