import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseDocument } from "yaml";
import { fsyncPath, type FileReplacer } from "../fs/replace-file.js";
import { newKeyOf } from "../model/new-key.js";
import { fail, type Failure, type Result } from "../result.js";
import type { AnsibleVaultCli } from "./ansible-vault-cli.js";
import { parseVaultDocument, type VaultDocument } from "./vault-document.js";

export interface VaultDeps {
  vaultFile: string;
  passwordFile: string;
  cli: AnsibleVaultCli;
  /** Every previous encrypted file is copied here before it is replaced. */
  backupDir: string;
  /** Replaces the vault atomically, with its temp file where git cannot see it. */
  files: FileReplacer;
  now?: () => Date;
  /** How long the decrypted vault stays in memory after its last use (default 10 minutes). */
  cacheTtlMs?: number;
  /** Hears every value of the vault each time it is read, so the redactor knows all of them. */
  onValues?: (values: readonly string[]) => void;
}

type VaultFailure = Failure<
  | "password_file"
  | "wrong_password"
  | "not_encrypted"
  | "missing_tool"
  | "failed"
  | "new_exists"
  | "no_new"
  | "invalid"
  | "verify_failed"
>;

/** The decrypted vault, valid for these encrypted bytes and this password file. */
interface Decrypted {
  encryptedHash: string;
  passwordHash: string;
  plaintext: string;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const sameData = (a: string, b: string) => isDeepStrictEqual(parseDocument(a).toJS(), parseDocument(b).toJS());

/**
 * The encrypted vault. ansible-vault (the real binary) decrypts a given content once: the
 * plaintext is kept in memory keyed on the encrypted bytes and the password file, and decrypted
 * again only when either changes (or after `cacheTtlMs` unused). Writes re-encrypt from stdin
 * into a temp file, check with one decrypt that it holds exactly the intended variables, back up
 * the old file and replace it atomically, so a crash at any point leaves the old or the new vault.
 */
export function createVault({
  vaultFile,
  passwordFile,
  cli,
  backupDir,
  files,
  now = () => new Date(),
  cacheTtlMs = 10 * 60_000,
  onValues,
}: VaultDeps) {
  let writing: Promise<unknown> = Promise.resolve();
  let cached: Decrypted | undefined;
  let forgetTimer: NodeJS.Timeout | undefined;
  /** The vault and password (their hashes) whose values `onValues` has been given: learning them again adds nothing. */
  let learned: string | undefined;

  const remember = (entry: Decrypted) => {
    cached = entry;
    clearTimeout(forgetTimer);
    forgetTimer = setTimeout(() => (cached = undefined), cacheTtlMs);
    forgetTimer.unref();
  };

  async function checkPasswordFile(): Promise<Result<{ warnings: string[] }, VaultFailure["reason"]>> {
    let info;
    try {
      info = await stat(passwordFile);
    } catch {
      return fail(
        "password_file",
        `the vault password file ${passwordFile} does not exist: create it with the vault password (mode 0600) or set VAULT_PASSWORD_FILE`,
      );
    }
    if (info.size === 0)
      return fail(
        "password_file",
        `the vault password file ${passwordFile} is empty: write the vault password into it`,
      );
    const warnings =
      (info.mode & 0o077) !== 0
        ? [`the vault password file ${passwordFile} is readable by other users: run chmod 600 ${passwordFile}`]
        : [];
    return { ok: true, warnings };
  }

  /** The plaintext of these encrypted bytes: from memory when already decrypted, else one ansible-vault call. */
  async function decrypt(
    encrypted: Buffer,
    passwordHash: string,
    label: string,
  ): Promise<Result<{ plaintext: string }, VaultFailure["reason"]>> {
    const encryptedHash = sha256(encrypted);
    if (cached?.encryptedHash === encryptedHash && cached.passwordHash === passwordHash) {
      remember(cached);
      return { ok: true, plaintext: cached.plaintext };
    }
    const decrypted = await cli.decryptBytes(encrypted, label);
    if (!decrypted.ok) return decrypted;
    remember({ encryptedHash, passwordHash, plaintext: decrypted.plaintext });
    return { ok: true, plaintext: decrypted.plaintext };
  }

  async function load(): Promise<
    Result<{ doc: VaultDocument; warnings: string[]; passwordHash: string }, VaultFailure["reason"]>
  > {
    const password = await checkPasswordFile();
    if (!password.ok) return password;
    const [encrypted, passwordBytes] = await Promise.all([
      readFile(vaultFile).catch(() => undefined),
      readFile(passwordFile).catch(() => undefined),
    ]);
    if (encrypted === undefined) return fail("failed", `the vault ${vaultFile} does not exist: check INFRA_DIR`);
    if (passwordBytes === undefined)
      return fail("password_file", `cannot read the vault password file ${passwordFile}: check its owner and mode`);
    if (encrypted.subarray(0, 14).toString("latin1") !== "$ANSIBLE_VAULT")
      return fail(
        "not_encrypted",
        `${vaultFile} is not encrypted with ansible-vault: encrypt it (ansible-vault encrypt) before rotating`,
      );
    const passwordHash = sha256(passwordBytes);
    const decrypted = await decrypt(encrypted, passwordHash, vaultFile);
    if (!decrypted.ok) return decrypted;
    const parsed = parseVaultDocument(decrypted.plaintext);
    if (!parsed.ok) return fail("invalid", `${vaultFile}: ${parsed.message}`);
    onValues?.(parsed.doc.keys().flatMap((key) => parsed.doc.get(key) ?? []));
    learned = `${sha256(encrypted)}:${passwordHash}`;
    return { ok: true, doc: parsed.doc, warnings: password.warnings, passwordHash };
  }

  /** Runs one change after the previous one finished (writes are serialized per process). */
  function serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = writing.then(task);
    writing = next.catch(() => undefined);
    return next;
  }

  /**
   * Replaces the vault with `encrypted content` produced into the temp file by `produce`, after
   * checking with one decrypt that it holds `intended`; the cache is seeded from that check.
   */
  function replaceVault(
    label: string,
    passwordHash: string,
    intended: string,
    produce: (temp: string) => Promise<Result<object, VaultFailure["reason"]>>,
  ): Promise<Result<{ backup: string }, VaultFailure["reason"]>> {
    return files.replaceWith(
      vaultFile,
      "vault",
      async (temp): Promise<Result<{ backup: string }, VaultFailure["reason"]>> => {
        const produced = await produce(temp);
        if (!produced.ok) return produced;
        const written = await readFile(temp);
        const check = await cli.decryptBytes(written, temp);
        if (!check.ok || !sameData(check.plaintext, intended))
          return fail(
            "verify_failed",
            `the re-encrypted vault did not decrypt to the intended variables; the vault was not changed (${label})`,
          );
        await mkdir(backupDir, { recursive: true, mode: 0o700 });
        const backup = path.join(
          backupDir,
          `${now().toISOString().replace(/[:.]/g, "-")}-${label}-${path.basename(vaultFile)}`,
        );
        await copyFile(vaultFile, backup, constants.COPYFILE_EXCL);
        await fsyncPath(backup);
        remember({ encryptedHash: sha256(written), passwordHash, plaintext: check.plaintext });
        return { ok: true, backup };
      },
      { mode: 0o600 },
    );
  }

  /** Applies `change` to the decrypted document and writes the result safely. */
  function write(
    label: string,
    change: (doc: VaultDocument) => VaultFailure | "unchanged" | undefined,
  ): Promise<Result<{ backup: string | undefined }, VaultFailure["reason"]>> {
    return serialized(async () => {
      const loaded = await load();
      if (!loaded.ok) return loaded;
      const refused = change(loaded.doc);
      if (refused === "unchanged") return { ok: true, backup: undefined };
      if (refused) return refused;
      const plaintext = loaded.doc.toString();
      if (plaintext.trim() === "" || loaded.doc.keys().length === 0)
        return fail("invalid", "refusing to write an empty vault; nothing was changed");
      return replaceVault(label, loaded.passwordHash, plaintext, (temp) => cli.encrypt(plaintext, temp));
    });
  }

  return {
    vaultFile,
    checkPasswordFile,

    async listKeys(): Promise<Result<{ keys: string[]; warnings: string[] }, VaultFailure["reason"]>> {
      const loaded = await load();
      return loaded.ok ? { ok: true, keys: loaded.doc.keys(), warnings: loaded.warnings } : loaded;
    },

    /**
     * Gives `onValues` every value in the vault, as any read does; when neither the vault file nor
     * the password file changed since they were last given, it only reads and hashes the two files
     * (no parse): the exposure guard calls it before it checks each message.
     */
    async learnValues(): Promise<Result<object, VaultFailure["reason"]>> {
      const [encrypted, passwordBytes] = await Promise.all([
        readFile(vaultFile).catch(() => undefined),
        readFile(passwordFile).catch(() => undefined),
      ]);
      if (encrypted && passwordBytes && learned === `${sha256(encrypted)}:${sha256(passwordBytes)}`)
        return { ok: true };
      const loaded = await load();
      return loaded.ok ? { ok: true } : loaded;
    },

    /** The value in memory; undefined when the key is absent. Never log it. */
    async read(key: string): Promise<Result<{ value: string | undefined }, VaultFailure["reason"]>> {
      const loaded = await load();
      return loaded.ok ? { ok: true, value: loaded.doc.get(key) } : loaded;
    },

    /** Adds `<key>_new` beside `<key>`; `replace` overwrites one left by an earlier attempt. */
    addNew(key: string, value: string, { replace = false } = {}) {
      if (value.trim() === "")
        return Promise.resolve(fail("invalid" as const, `refusing to store an empty value as ${newKeyOf(key)}`));
      return write(`add-${key}`, (doc) => {
        const existing = doc.get(newKeyOf(key));
        if (existing !== undefined && !replace) {
          return fail(
            "new_exists",
            `${newKeyOf(key)} is already in the vault from an earlier attempt: reuse it, or replace it with a new value`,
          );
        }
        if (existing !== undefined) doc.set(newKeyOf(key), value);
        else doc.insert(newKeyOf(key), value, key);
        return undefined;
      });
    },

    /** Removes the old value and renames `<key>_new` to `<key>` in one rewrite. */
    promote(key: string) {
      return write(`promote-${key}`, (doc) => {
        if (doc.get(newKeyOf(key)) === undefined)
          return fail("no_new", `${newKeyOf(key)} is not in the vault, so there is nothing to promote`);
        doc.replaceWith(key, newKeyOf(key));
        return undefined;
      });
    },

    /**
     * Puts `encrypted` (for example the committed vault) back in place when it decrypts to the same
     * variables as the current vault, so an aborted rotation leaves the file byte for byte as it was.
     */
    restoreIfSameContent(encrypted: string): Promise<boolean> {
      return serialized(async () => {
        const loaded = await load();
        if (!loaded.ok) return false;
        const current = loaded.doc.toString();
        const bytes = encrypted.endsWith("\n") ? encrypted : `${encrypted}\n`;
        const restored = await replaceVault("restore", loaded.passwordHash, current, async (temp) => {
          await writeFile(temp, bytes, { mode: 0o600, flag: "wx" });
          return { ok: true };
        });
        return restored.ok;
      });
    },

    /** Drops `<key>_new` (abort before the point of no return). Absent is fine. */
    dropNew(key: string) {
      return write(`drop-${key}`, (doc) => {
        if (doc.get(newKeyOf(key)) === undefined) return "unchanged";
        doc.remove(newKeyOf(key));
        return undefined;
      });
    },

    /** Drops the decrypted vault from memory (it is also dropped after `cacheTtlMs` unused). */
    forget(): void {
      cached = undefined;
      clearTimeout(forgetTimer);
    },
  };
}
export type Vault = ReturnType<typeof createVault>;
