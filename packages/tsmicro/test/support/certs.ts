/**
 * Certificates made at test time with the openssl command line: a CA, a second unrelated CA,
 * and server and client certificates good, expired, for the wrong name or from the wrong CA.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pem {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: string;
  otherCa: string;
  /** For localhost and 127.0.0.1, signed by `ca`. */
  server: Pem;
  /** Signed by `ca`, expired yesterday. */
  expiredServer: Pem;
  /** Signed by `ca`, valid only for other.invalid. */
  wrongNameServer: Pem;
  /** Signed by `otherCa` for localhost and 127.0.0.1. */
  otherCaServer: Pem;
  /** Client certificate signed by `ca`. */
  client: Pem;
  /** Client certificate signed by `otherCa`. */
  otherCaClient: Pem;
  dispose(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-pki-"));
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const newKey = (name: string) =>
    ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  const makeCa = (name: string) => {
    newKey(name);
    ossl(
      "req",
      "-x509",
      "-new",
      "-key",
      `${name}.key`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-out",
      `${name}.crt`,
    );
  };
  const issue = (name: string, ca: string, cn: string, san: string, days: number, usage: string): Pem => {
    newKey(name);
    ossl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    ossl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      // A negative lifetime puts notAfter before now: an expired certificate without a fake clock.
      "-days",
      String(days),
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    );
    return { cert: read(`${name}.crt`), key: read(`${name}.key`) };
  };
  const read = (f: string) => readFileSync(join(dir, f), "utf8");

  makeCa("ca");
  makeCa("other-ca");
  const local = "DNS:localhost,IP:127.0.0.1";
  const pki: TestPki = {
    ca: read("ca.crt"),
    otherCa: read("other-ca.crt"),
    server: issue("server", "ca", "localhost", local, 2, "serverAuth"),
    expiredServer: issue("expired", "ca", "localhost", local, -1, "serverAuth"),
    wrongNameServer: issue("wrong-name", "ca", "other.invalid", "DNS:other.invalid", 2, "serverAuth"),
    otherCaServer: issue("other-server", "other-ca", "localhost", local, 2, "serverAuth"),
    client: issue("client", "ca", "client-a", "DNS:client-a", 2, "clientAuth"),
    otherCaClient: issue("other-client", "other-ca", "client-b", "DNS:client-b", 2, "clientAuth"),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
  return pki;
}
