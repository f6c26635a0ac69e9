import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseDocument } from "yaml";
import { fail, type Failure, type Result } from "../result.js";
import type { AnsibleVaultCli } from "./ansible-vault-cli.js";
import { parseVaultDocument, type VaultDocument } from "./vault-document.js";

export interface VaultDeps {
  vaultFile: string;
  passwordFile: string;
  cli: AnsibleVaultCli;
  /** Every previous encrypted file is copied here before it is replaced. */
  backupDir: string;
  now?: () => Date;
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

export const newKeyOf = (key: string) => `${key}_new`;

/**
 * The encrypted vault. Reads decrypt to memory; writes re-encrypt from stdin into a file beside
 * the vault, check that it decrypts to exactly the intended variables, back up the old file and
 * rename over it, so that a crash at any point leaves either the old or the new vault.
 */
export function createVault({ vaultFile, passwordFile, cli, backupDir, now = () => new Date() }: VaultDeps) {
  let writing: Promise<unknown> = Promise.resolve();

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

  async function load(): Promise<Result<{ doc: VaultDocument; warnings: string[] }, VaultFailure["reason"]>> {
    const password = await checkPasswordFile();
    if (!password.ok) return password;
    const head = await readFile(vaultFile, "utf8").then(
      (t) => t.slice(0, 14),
      () => undefined,
    );
    if (head === undefined) return fail("failed", `the vault ${vaultFile} does not exist: check INFRA_DIR`);
    if (head !== "$ANSIBLE_VAULT")
      return fail(
        "not_encrypted",
        `${vaultFile} is not encrypted with ansible-vault: encrypt it (ansible-vault encrypt) before rotating`,
      );
    const decrypted = await cli.decrypt(vaultFile);
    if (!decrypted.ok) return decrypted;
    const parsed = parseVaultDocument(decrypted.plaintext);
    if (!parsed.ok) return fail("invalid", `${vaultFile}: ${parsed.message}`);
    return { ok: true, doc: parsed.doc, warnings: password.warnings };
  }

  /** Applies `change` to the decrypted document and writes the result safely; serialized per process. */
  function write(
    label: string,
    change: (doc: VaultDocument) => VaultFailure | "unchanged" | undefined,
  ): Promise<Result<{ backup: string | undefined }, VaultFailure["reason"]>> {
    const task = writing.then(async (): Promise<Result<{ backup: string | undefined }, VaultFailure["reason"]>> => {
      const loaded = await load();
      if (!loaded.ok) return loaded;
      const refused = change(loaded.doc);
      if (refused === "unchanged") return { ok: true, backup: undefined };
      if (refused) return refused;
      await removeStaleTemps(path.dirname(vaultFile), path.basename(vaultFile));
      const plaintext = loaded.doc.toString();
      if (plaintext.trim() === "" || loaded.doc.keys().length === 0)
        return fail("invalid", "refusing to write an empty vault; nothing was changed");

      const dir = path.dirname(vaultFile);
      const temp = tempBeside(vaultFile);
      try {
        const encrypted = await cli.encrypt(plaintext, temp);
        if (!encrypted.ok) return encrypted;
        const check = await cli.decrypt(temp);
        if (!check.ok || !isDeepStrictEqual(parseDocument(check.plaintext).toJS(), parseDocument(plaintext).toJS())) {
          return fail(
            "verify_failed",
            `the re-encrypted vault did not decrypt to the intended variables; the vault was not changed (${label})`,
          );
        }
        await mkdir(backupDir, { recursive: true, mode: 0o700 });
        const backup = path.join(
          backupDir,
          `${now().toISOString().replace(/[:.]/g, "-")}-${label}-${path.basename(vaultFile)}`,
        );
        await copyFile(vaultFile, backup, constants.COPYFILE_EXCL);
        await fsyncPath(temp);
        await rename(temp, vaultFile);
        await fsyncPath(dir);
        return { ok: true, backup };
      } finally {
        await unlink(temp).catch(() => undefined);
      }
    });
    writing = task.catch(() => undefined);
    return task;
  }

  return {
    vaultFile,
    checkPasswordFile,

    async listKeys(): Promise<Result<{ keys: string[]; warnings: string[] }, VaultFailure["reason"]>> {
      const loaded = await load();
      return loaded.ok ? { ok: true, keys: loaded.doc.keys(), warnings: loaded.warnings } : loaded;
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
      const task = writing.then(async () => {
        const temp = tempBeside(vaultFile);
        try {
          await writeFile(temp, encrypted.endsWith("\n") ? encrypted : `${encrypted}\n`, { mode: 0o600 });
          const [candidate, current] = [await cli.decrypt(temp), await cli.decrypt(vaultFile)];
          if (!candidate.ok || !current.ok) return false;
          if (!isDeepStrictEqual(parseDocument(candidate.plaintext).toJS(), parseDocument(current.plaintext).toJS()))
            return false;
          await fsyncPath(temp);
          await rename(temp, vaultFile);
          return true;
        } finally {
          await unlink(temp).catch(() => undefined);
        }
      });
      writing = task.catch(() => undefined);
      return task;
    },

    /** Drops `<key>_new` (abort before the point of no return). Absent is fine. */
    dropNew(key: string) {
      return write(`drop-${key}`, (doc) => {
        if (doc.get(newKeyOf(key)) === undefined) return "unchanged";
        doc.remove(newKeyOf(key));
        return undefined;
      });
    },
  };
}
export type Vault = ReturnType<typeof createVault>;

/** A temp file in the vault's folder (same file system, so rename is atomic); removeStaleTemps knows the pattern. */
function tempBeside(vaultFile: string): string {
  return path.join(
    path.dirname(vaultFile),
    `.${path.basename(vaultFile)}.rotabot-${randomBytes(4).toString("hex")}.tmp`,
  );
}

/** Temp files of writes that were killed midway: they are encrypted, but clutter the vault folder. */
async function removeStaleTemps(dir: string, base: string): Promise<void> {
  const prefix = `.${base}.rotabot-`;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > 60_000) await unlink(file).catch(() => undefined);
  }
}

async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
