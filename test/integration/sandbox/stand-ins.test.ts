import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiGateway, type ApiGateway } from "../../../src/sandbox/stand-ins/api-gateway.js";
import { startPackageRepository, type PackageRepository } from "../../../src/sandbox/stand-ins/package-repository.js";
import {
  SENTRY_PROJECT_ID,
  startSentryIngest,
  type SentryIngest,
} from "../../../src/sandbox/stand-ins/sentry-ingest.js";

// Each "behaves like" line in the stand-ins' files, pinned.
let repository: PackageRepository;
let sentry: SentryIngest;
let gateway: ApiGateway;
let keysDir: string;
beforeAll(async () => {
  repository = await startPackageRepository();
  sentry = await startSentryIngest();
  keysDir = mkdtempSync(path.join(tmpdir(), "rotabot-gateway-"));
  gateway = await startApiGateway({ keysDir });
});
afterAll(async () => {
  await Promise.all([repository.close(), sentry.close(), gateway.close()]);
  rmSync(keysDir, { recursive: true, force: true });
});

describe("SignalWire package repository", () => {
  const fetchIndex = (user: string | undefined, token?: string) =>
    fetch(`${repository.url}/dists/bookworm/Release`, {
      headers: user ? { Authorization: `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}` } : {},
    });

  it("serves packages only to basic auth signalwire:<PAT> of a token that exists", async () => {
    const pat = repository.createToken();
    const ok = await fetchIndex("signalwire", pat);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("Label: FreeSWITCH");
    const none = await fetchIndex(undefined);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    expect((await fetchIndex("someone", pat)).status).toBe(401);
    expect((await fetchIndex("signalwire", "PTnotIssued0123456789")).status).toBe(401);
  });

  it("keeps every token working until it is revoked, then refuses it", async () => {
    const old = repository.createToken();
    const fresh = repository.createToken();
    expect((await fetchIndex("signalwire", old)).status).toBe(200);
    expect((await fetchIndex("signalwire", fresh)).status).toBe(200);
    expect(repository.revokeToken(old)).toBe(true);
    expect((await fetchIndex("signalwire", old)).status).toBe(401);
    expect((await fetchIndex("signalwire", fresh)).status).toBe(200);
    expect(repository.activeTokens()).not.toContain(old);
  });
});

describe("Sentry ingest", () => {
  const send = (dsn: string, project = SENTRY_PROJECT_ID, via: "header" | "query" = "header") => {
    const key = /\/\/([0-9a-f]+)@/.exec(dsn)![1]!;
    return fetch(`${sentry.url}/api/${project}/store/${via === "query" ? `?sentry_key=${key}` : ""}`, {
      method: "POST",
      headers: via === "header" ? { "X-Sentry-Auth": `Sentry sentry_version=7, sentry_key=${key}` } : {},
      body: JSON.stringify({ message: "hello" }),
    });
  };

  it("keeps the old client key taking events when a new one is created, until it is disabled", async () => {
    const old = sentry.createDsn();
    const fresh = sentry.createDsn();
    expect((await send(old)).status).toBe(200);
    expect((await send(fresh, SENTRY_PROJECT_ID, "query")).status).toBe(200);
    expect(sentry.disableKey(old)).toBe(true);
    const refused = await send(old);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ detail: "event submission rejected with_reason: ProjectId" });
    expect((await send(fresh)).status).toBe(200);
  });

  it("refuses another project and answers 404 elsewhere", async () => {
    const dsn = sentry.createDsn();
    expect((await send(dsn, 1)).status).toBe(403);
    expect((await fetch(`${sentry.url}/api/${SENTRY_PROJECT_ID}/store/`)).status).toBe(404);
  });
});

describe("API gateway", () => {
  const sha = (token: string) => createHash("sha256").update(token).digest("hex");
  const list = (key: string, tokens: string[]) =>
    writeFileSync(path.join(keysDir, `${key}.sha256`), tokens.map((t) => `${sha(t)}\n`).join(""));

  it("accepts a bearer token listed for its API, reads the list at every request, and keeps an old one while listed", async () => {
    list("vault_billing_api_token", ["old-billing-token", "new-billing-token"]);
    expect(await gateway.status("vault_billing_api_token", "old-billing-token")).toBe(200);
    expect(await gateway.status("vault_billing_api_token", "new-billing-token")).toBe(200);
    list("vault_billing_api_token", ["new-billing-token"]);
    expect(await gateway.status("vault_billing_api_token", "old-billing-token")).toBe(401);
    expect(await gateway.status("vault_billing_api_token", "new-billing-token")).toBe(200);
    expect(await gateway.status("vault_other_api_token", "new-billing-token")).toBe(404);
  });

  it("answers 401 with RFC 6750 challenges", async () => {
    list("vault_reports_api_token", ["reports-token"]);
    const wrong = await fetch(`${gateway.url}/vault_reports_api_token/v1/ping`, {
      headers: { Authorization: "Bearer not-listed" },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="akira", error="invalid_token"');
    const none = await fetch(`${gateway.url}/vault_reports_api_token/v1/ping`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="akira"');
  });
});
