// A root CA and leaves with chosen DNS names and validity, made by the openssl CLI (as the other
// harnesses do), for the certificate checks of `readiness` and the TLS of the stand-in TSB API.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export interface Leaf {
  certPem: string;
  keyPem: string;
}

export class TestRootCa {
  readonly caPem: string;
  private readonly dir: string;
  private n = 0;

  constructor(name = "tsb-ha readiness test root") {
    this.dir = mkdtempSync(path.join(tmpdir(), "certchain-"));
    this.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
      "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    this.caPem = readFileSync(path.join(this.dir, "ca.crt"), "utf8");
  }

  private run(...args: string[]): void {
    execFileSync("openssl", args, { cwd: this.dir, stdio: "pipe" });
  }

  /** A leaf signed by this root for `dnsNames` (first = CN), valid `days` from now. */
  leaf(dnsNames: string[], days: number): Leaf {
    const id = `leaf${++this.n}`;
    this.run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${id}.key`, "-out", `${id}.csr`, "-subj", `/CN=${dnsNames[0] ?? "leaf"}`);
    writeFileSync(path.join(this.dir, `${id}.ext`), `subjectAltName=${dnsNames.map((d) => `DNS:${d}`).join(",")}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n`);
    this.run("x509", "-req", "-in", `${id}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${id}.crt`, "-days", String(days), "-extfile", `${id}.ext`);
    return { certPem: readFileSync(path.join(this.dir, `${id}.crt`), "utf8"), keyPem: readFileSync(path.join(this.dir, `${id}.key`), "utf8") };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
