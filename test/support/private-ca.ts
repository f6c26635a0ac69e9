import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A private CA made with the real openssl, as a team has for its internal services (the runbook's
 * production example: NATS_CA, PGSSLROOTCERT=/etc/ssl/akira-ca.pem), and server certificates it
 * signs. EC P-256 keys, valid two days.
 */
export function makePrivateCa(name = "Akira test CA") {
  const dir = mkdtempSync(path.join(tmpdir(), "rotabot-ca-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...key,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  let issued = 0;
  return {
    caFile: path.join(dir, "ca.pem"),
    /** A server certificate for these names (IP addresses and DNS names), signed by this CA. */
    issue(names: { ip?: string[]; dns?: string[] } = { ip: ["127.0.0.1"], dns: ["localhost"] }) {
      const base = `server-${++issued}`;
      const san = [...(names.ip ?? []).map((ip) => `IP:${ip}`), ...(names.dns ?? []).map((d) => `DNS:${d}`)];
      writeFileSync(
        path.join(dir, `${base}.ext`),
        `subjectAltName=${san.join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
      );
      openssl(
        "req",
        ...key,
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${names.dns?.[0] ?? names.ip?.[0] ?? "server"}`,
      );
      openssl(
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        `${base}.pem`,
        "-extfile",
        `${base}.ext`,
      );
      return { certFile: path.join(dir, `${base}.pem`), keyFile: path.join(dir, `${base}.key`) };
    },
  };
}
export type PrivateCa = ReturnType<typeof makePrivateCa>;
