import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { listenLocal } from "./listen-local.js";

const API = /^\/(vault_[a-z0-9_]+)(\/.*)?$/;

/**
 * Stand-in for Akira's API gateway, the consumer of the API tokens that the general rolling
 * procedure rotates. Akira's gateway is not public: this models the contract the infra's
 * playbook (infra/playbooks/rotate_api_token.yml) relies on, and HTTP's bearer-token rules.
 * Each behaviour is pinned by test/integration/sandbox/stand-ins.test.ts:
 *
 * - `/<vault key>/...` is the API whose clients hold that key's token. A request is accepted when
 *   the SHA-256 (hex) of its `Authorization: Bearer <token>` is a line of
 *   `<keysDir>/<vault key>.sha256`, the list the playbook renders: `accept_both` writes the
 *   current and the new token, `drop_old` the canonical one alone. Source: the seed's general
 *   procedure ("Update affected services so both old and new values are accepted") and its
 *   completion checklist ("Old secret revoked or removed").
 * - The list is read at every request, so a rewrite takes effect at once; an old token keeps
 *   working for as long as its hash is listed. Nothing else removes it.
 * - A token not listed: 401 with `WWW-Authenticate: Bearer error="invalid_token"`; no token: 401
 *   with a bare `Bearer` challenge. Source: RFC 6750 section 3 and 3.1.
 * - An API without a list: 404.
 *
 * Tokens are never logged or kept; requests are counted by outcome.
 */
export async function startApiGateway({ keysDir }: { keysDir: string }) {
  const requests = { accepted: 0, refused: 0 };
  const server = await listenLocal(async (req, res) => {
    const api = API.exec(new URL(req.url ?? "/", "http://gateway").pathname)?.[1];
    const listed = api
      ? await readFile(path.join(keysDir, `${api}.sha256`), "utf8").then(
          (text) =>
            new Set(
              text
                .split("\n")
                .map((l) => l.trim())
                .filter(Boolean),
            ),
          () => undefined,
        )
      : undefined;
    if (!listed) {
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ error: "no such API" }));
      return;
    }
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token || !listed.has(createHash("sha256").update(token).digest("hex"))) {
      requests.refused++;
      res
        .writeHead(401, {
          "Content-Type": "application/json",
          "WWW-Authenticate": token ? `Bearer realm="akira", error="invalid_token"` : `Bearer realm="akira"`,
        })
        .end(JSON.stringify({ error: token ? "invalid_token" : "token required" }));
      return;
    }
    requests.accepted++;
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ api, ok: true }));
  });
  return {
    url: server.url,
    requests,
    /** What a client holding `token` gets from the API of `key`: 200, 401 or 404. */
    status: (key: string, token: string) =>
      fetch(`${server.url}/${key}/v1/ping`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status),
    close: () => server.close(),
  };
}
export type ApiGateway = Awaited<ReturnType<typeof startApiGateway>>;
