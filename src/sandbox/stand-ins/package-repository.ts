import { randomBytes } from "node:crypto";
import { listenLocal } from "./listen-local.js";

const FILES: Record<string, string> = {
  "dists/bookworm/Release": "Origin: SignalWire\nLabel: FreeSWITCH\nSuite: bookworm\nComponents: main\n",
  "pool/main/f/freeswitch/freeswitch_1.10.12_amd64.deb": "!<arch>\n(a FreeSWITCH package stand-in)\n",
};

/**
 * Stand-in for SignalWire's FreeSWITCH package repository. Behaves like the real one, each
 * behaviour pinned by test/integration/sandbox/stand-ins.test.ts:
 *
 * - Packages and the index are served only to HTTP basic auth `signalwire:<Personal Access Token>`
 *   of a token that exists and is not revoked; anything else is 401 with a Basic challenge.
 *   Source: SignalWire's FreeSWITCH Debian install guide ("SignalWire Personal Access Tokens (PAT)s
 *   are required to access FreeSWITCH install packages"; apt auth.conf `login signalwire password
 *   <PAT>`), developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Installation/Linux/Debian_67240088.
 * - A new PAT does not revoke the others: every token works until it is revoked in the dashboard,
 *   and a revoked one is refused from then on. Source: the same guide and SignalWire's dashboard
 *   (Personal Access Tokens: "+ Add New", per-token revoke); the seed runbook revokes the old one
 *   as a separate step ("Revoke the old token in SignalWire").
 *
 * Token values are never logged; requests are counted by outcome.
 */
export async function startPackageRepository() {
  const tokens = new Map<string, { revoked: boolean }>();
  const requests = { accepted: 0, refused: 0 };
  const server = await listenLocal((req, res) => {
    const url = new URL(req.url ?? "/", "http://repo");
    const file = FILES[url.pathname.replace(/^\/repo\/deb\/debian-release\//, "")];
    if (!file) {
      res.writeHead(404).end("not found\n");
      return;
    }
    const [scheme, encoded] = (req.headers.authorization ?? "").split(" ");
    const [user, token] =
      scheme === "Basic" && encoded ? Buffer.from(encoded, "base64").toString().split(/:(.*)/s) : [];
    if (user !== "signalwire" || !token || tokens.get(token)?.revoked !== false) {
      requests.refused++;
      res
        .writeHead(401, { "WWW-Authenticate": 'Basic realm="SignalWire FreeSWITCH repository"' })
        .end("401 Unauthorized: a valid SignalWire Personal Access Token is required\n");
      return;
    }
    requests.accepted++;
    res.writeHead(200, { "Content-Type": "application/octet-stream" }).end(file);
  });
  return {
    /** The repository root, as in /etc/apt/sources.list.d/freeswitch.list. */
    url: `${server.url}/repo/deb/debian-release`,
    requests,
    /** "Create a new Personal Access Token in the SignalWire dashboard." */
    createToken(): string {
      const token = `PT${randomBytes(24).toString("hex")}`;
      tokens.set(token, { revoked: false });
      return token;
    },
    /** "Revoke" in the dashboard: the token is refused from now on. */
    revokeToken(token: string): boolean {
      if (!tokens.has(token)) return false;
      tokens.set(token, { revoked: true });
      return true;
    },
    activeTokens: () => [...tokens].filter(([, t]) => !t.revoked).map(([token]) => token),
    close: () => server.close(),
  };
}
export type PackageRepository = Awaited<ReturnType<typeof startPackageRepository>>;
