// A local stand-in for a TSB management plane's REST API, on 127.0.0.1 at a random port, serving
// the paths lib/clients/tsbApi.ts uses (sources there and in docs/tsb-api.md) with a server certificate
// issued by a real root CA made with the openssl CLI. Clients reach it under the site's FQDN by
// connecting to 127.0.0.1 with TLS server name = the FQDN (the `address` input).
//
// Behaviour mirrored: HTTP Basic auth of user `admin` (401 otherwise); organisations, tenants and
// clusters as lists under `{tenants: [...]}` / `{clusters: [...]}`; service accounts whose private
// key is returned only by the call that made it (create, generate key) and never by a read; an
// access policy with an etag that a write must carry (409 otherwise, as grpc-gateway maps Aborted).
// Failure injection: answer a status n times, hang (no answer), a concurrent policy writer.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { tmpdir } from "node:os";
import * as path from "node:path";

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A root CA and a server certificate for `fqdn` (SAN DNS), made by openssl in a temp dir. */
export function makePki(fqdn: string, caName = "tsb-ha test root"): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), "fake-tsb-pki-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", `/CN=${caName}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", `/CN=${fqdn}`);
    writeFileSync(path.join(dir, "ext.cnf"), `subjectAltName=DNS:${fqdn}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n`);
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.crt", "-days", "2", "-extfile", "ext.cnf");
    return {
      caPem: readFileSync(path.join(dir, "ca.crt"), "utf8"),
      certPem: readFileSync(path.join(dir, "leaf.crt"), "utf8"),
      keyPem: readFileSync(path.join(dir, "leaf.key"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Injection {
  method?: string;
  /** Matches when the request path contains this text. */
  pathIncludes: string;
  /** How many requests it affects. */
  times: number;
  /** Answer this status, or hang (accept, never answer). */
  action: { status: number; body?: unknown } | "hang";
}

interface Account {
  keys: Array<{ id: string; publicKey: string }>;
}

export interface FakeTsbOptions {
  fqdn: string;
  pki: TestPki;
  password: string;
  organization: string;
  tenants?: string[];
  clusters?: string[];
}

export class FakeTsbApi {
  public port = 0;
  public organization: string;
  public tenants: string[];
  public clusters: string[];
  public readonly accounts = new Map<string, Account>();
  public policy: { allow: Array<{ role: string; subjects: Array<Record<string, string>> }>; etag: string };
  public readonly injections: Injection[] = [];
  /** Every request seen: method, path, whether its credentials were right. */
  public readonly requests: Array<{ method: string; path: string; authorized: boolean }> = [];
  /** Private keys handed out, to check that outputs carry the right one. */
  public readonly issuedKeys = new Map<string, string>();
  /** Runs once before the next policy write is judged (simulates another writer). */
  public beforeNextPolicyWrite?: () => void;
  private readonly server: https.Server;
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly opts: FakeTsbOptions) {
    this.organization = opts.organization;
    this.tenants = opts.tenants ?? ["payments", "shop"];
    this.clusters = opts.clusters ?? ["east-1", "west-1", "edge"];
    this.policy = { allow: [{ role: "rbac/admin", subjects: [{ user: `organizations/${opts.organization}/users/admin` }] }], etag: "etag-1" };
    this.server = https.createServer({ cert: opts.pki.certPem, key: opts.pki.keyPem }, (req, res) => this.handle(req, res));
        this.server.on("connection", (s) => { this.sockets.add(s); s.on("close", () => this.sockets.delete(s)); });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  inject(i: Injection): void {
    this.injections.push(i);
  }

  /** A key made outside the stack (e.g. `tctl sa create`): the stack never saw its private part. */
  addAccountMadeElsewhere(name: string): string {
    const { id } = this.newKey();
    this.accounts.set(name, { keys: [{ id, publicKey: "(public)" }] });
    return id;
  }

  private newKey(): { id: string; privateKey: string; publicKey: string } {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const id = randomBytes(8).toString("hex");
    const jwk = { ...privateKey.export({ format: "jwk" }), kid: id, alg: "RS256" };
    const text = JSON.stringify(jwk);
    this.issuedKeys.set(id, text);
    return { id, privateKey: text, publicKey: "(public)" };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const method = req.method ?? "GET";
      const url = req.url ?? "/";
      const expected = `Basic ${Buffer.from(`admin:${this.opts.password}`).toString("base64")}`;
      const authorized = req.headers.authorization === expected;
      this.requests.push({ method, path: url, authorized });
      const injected = this.injections.find((i) => i.times > 0 && url.includes(i.pathIncludes) && (!i.method || i.method === method));
      if (injected) {
        injected.times--;
        if (injected.action === "hang") return; // never answer
        return send(res, injected.action.status, injected.action.body ?? { code: 14, message: "injected failure" });
      }
      if (!authorized) return send(res, 401, { code: 16, message: "invalid credentials" });
      let body: Record<string, unknown> = {};
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> : {};
      } catch {
        return send(res, 400, { code: 3, message: "bad json" });
      }
      this.route(method, url, body, res);
    });
  }

  private route(method: string, url: string, body: Record<string, unknown>, res: ServerResponse): void {
    const m = /^\/v2\/organizations\/([^/]+)(\/.*)?$/.exec(url);
    if (!m || decodeURIComponent(m[1]!) !== this.organization) return send(res, 404, { code: 5, message: "organization not found" });
    const org = this.organization;
    const rest = m[2] ?? "";
    if (rest === "" && method === "GET") return send(res, 200, { fqn: `organizations/${org}`, displayName: org, etag: "org-etag" });
    if (rest === "/tenants" && method === "GET") return send(res, 200, this.tenants.length ? { tenants: this.tenants.map((t) => ({ fqn: `organizations/${org}/tenants/${t}` })) } : {});
    if (rest === "/clusters" && method === "GET") return send(res, 200, this.clusters.length ? { clusters: this.clusters.map((c) => ({ fqn: `organizations/${org}/clusters/${c}` })) } : {});
    if (rest === "/serviceaccounts" && method === "POST") {
      const name = typeof body["name"] === "string" ? body["name"] : "";
      if (this.accounts.has(name)) return send(res, 409, { code: 6, message: "already exists" });
      const key = this.newKey();
      this.accounts.set(name, { keys: [{ id: key.id, publicKey: key.publicKey }] });
      const pem = body["keyEncoding"] === "JWK" ? key.privateKey : "-----BEGIN RSA PRIVATE KEY-----(pem)";
      return send(res, 200, { fqn: `organizations/${org}/serviceaccounts/${name}`, keys: [{ id: key.id, publicKey: key.publicKey, privateKey: pem, encoding: "JWK" }], etag: "sa-etag" });
    }
    const sa = /^\/serviceaccounts\/([^/:]+)(:generatekey)?$/.exec(rest);
    if (sa) {
      const name = decodeURIComponent(sa[1]!);
      const account = this.accounts.get(name);
      if (!account) return send(res, 404, { code: 5, message: "service account not found" });
      const fqn = `organizations/${org}/serviceaccounts/${name}`;
      if (sa[2] && method === "POST") {
        const key = this.newKey();
        account.keys.push({ id: key.id, publicKey: key.publicKey });
        return send(res, 200, { id: key.id, publicKey: key.publicKey, privateKey: key.privateKey, encoding: "JWK" });
      }
      if (!sa[2] && method === "GET") return send(res, 200, { fqn, keys: account.keys.map((k) => ({ ...k, encoding: "JWK" })) });
      if (!sa[2] && method === "DELETE") { this.accounts.delete(name); return send(res, 200, {}); }
    }
    if (rest === "/policy" && method === "GET") return send(res, 200, { fqn: `organizations/${org}`, ...structuredClone(this.policy) });
    if (rest === "/policy" && method === "PUT") {
      const hook = this.beforeNextPolicyWrite;
      this.beforeNextPolicyWrite = undefined;
      hook?.();
      if (body["etag"] !== this.policy.etag) return send(res, 409, { code: 10, message: "the object has been modified; please apply your changes to the latest version" });
      this.policy = { allow: (body["allow"] ?? []) as FakeTsbApi["policy"]["allow"], etag: `etag-${Number(this.policy.etag.slice(5)) + 1}` };
      return send(res, 200, {});
    }
    return send(res, 404, { code: 5, message: `no route ${method} ${url}` });
  }

  /** Another writer adds a binding (and so moves the etag). */
  concurrentGrant(role: string, subject: string): void {
    this.policy = { allow: [...this.policy.allow, { role, subjects: [{ user: subject }] }], etag: `etag-${Number(this.policy.etag.slice(5)) + 1}` };
  }

  hasGrant(role: string, serviceAccount: string): boolean {
    return this.policy.allow.some((b) => b.role === role && b.subjects.some((s) => s["serviceAccount"] === serviceAccount));
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
