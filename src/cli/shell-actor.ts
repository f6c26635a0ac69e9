import { userInfo } from "node:os";
import type { Actor } from "../model/rotation.js";
import { fail, type Result } from "../result.js";

/**
 * A name rotabot writes into the CHANGELOG, the commit message and the audit: one word, so that
 * nobody can write a second CHANGELOG line, a fake audit field or a look-alike name through it
 * (newlines, control and bidirectional characters, letters from other scripts are refused).
 */
const NAME = /^@?[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const AS_HINT =
  "--as takes the name of the person at the keyboard, such as alice or @alice (letters, digits, . _ -; up to 64)";

/** The user this process runs as, from the environment when it is a plain name, else from the system. */
function processUser(env: Readonly<Record<string, string | undefined>>): string {
  for (const candidate of [env.USER, env.LOGNAME])
    if (candidate !== undefined && NAME.test(candidate)) return candidate;
  try {
    const { username } = userInfo();
    if (NAME.test(username)) return username;
  } catch {
    // No passwd entry for this uid (a container): named by its uid below.
  }
  return `uid-${process.getuid?.() ?? "unknown"}`;
}

/**
 * Who acts on the shell. The person is `--as <name>` when given, else the user who ran sudo
 * (SUDO_USER), else the login user; the account that really runs rotabot is named beside them
 * when it differs, so the CHANGELOG and the audit say both: `alice`, `alice (as root via sudo)`,
 * `alice (as root via sudo by bob)`, `alice (as rotabot)`.
 */
export function shellActor(
  env: Readonly<Record<string, string | undefined>>,
  as: string | undefined,
): Result<{ actor: Actor }, "invalid_name"> {
  if (as !== undefined && !NAME.test(as))
    return fail("invalid_name", `${AS_HINT}; got ${JSON.stringify(as).slice(0, 80)}`);
  const account = processUser(env);
  const sudoUser =
    env.SUDO_USER !== undefined && NAME.test(env.SUDO_USER) && env.SUDO_USER !== account ? env.SUDO_USER : undefined;
  const person = as ?? sudoUser ?? account;
  const via = sudoUser === undefined ? "" : person === sudoUser ? " via sudo" : ` via sudo by ${sudoUser}`;
  const name = person === account && via === "" ? person : `${person} (as ${account}${via})`;
  return { ok: true, actor: { id: `shell:${person}`, name } };
}
