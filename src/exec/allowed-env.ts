/** Variables a command may inherit from rotabot's environment; everything else (BOT_TOKEN!) stays out. */
const ALLOWED_NAMES = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
  "SSH_AUTH_SOCK",
  "PGHOST",
  "PGPORT",
  "PGDATABASE",
  "PGSSLMODE",
  "NATS_URL",
]);
const ALLOWED_PREFIXES = ["LC_", "ANSIBLE_"];

/** The allowlisted subset of an environment, for every command rotabot runs. */
export function allowedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => {
      const [name, value] = entry;
      return value !== undefined && (ALLOWED_NAMES.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p)));
    }),
  );
}
