import { randomBytes } from "node:crypto";
import { listenLocal } from "./listen-local.js";

const FILES: Record<string, string> = {
  "dists/bookworm/Release": "Origin: SignalWire\nLabel: FreeSWITCH\nSuite: bookworm\nComponents: main\n",
  "pool/main/f/freeswitch/freeswitch_1.10.12_amd64.deb": "!<arch>\n(a FreeSWITCH package stand-in)\n",
};

/**
 * Stand-in for SignalWire's FreeSWITCH package repository: files are served only with HTTP basic
 * auth `signalwire:<Personal Access Token>` of a token that exists and is not revoked. The
 * "dashboard" side creates and revokes tokens. Token values are never logged; requests are
 * counted by outcome.
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
