// The PKI of the set, proved with real TLS tooling: the program runs under mocks with real keys and
// certificates (harness/opensslTls.ts stands in for the tls provider), and the PEMs it hands each
// site's helm release are checked with `openssl verify` and node TLS handshakes against the root CA.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { find, plainStrings, reveal, runProgram, type ChildOutput } from "./harness/runProgram";
import { baseConfig, input } from "./fixtures";
import {
  LEAF_EARLY_RENEWAL_HOURS,
  LEAF_USES,
  LEAF_VALIDITY_HOURS,
  ROOT_USES,
  ROOT_VALIDITY_HOURS,
  XCP_CENTRAL_DNS,
  XCP_CENTRAL_URI,
  rootCaSubject,
  siteCertSpecs,
} from "../lib/plan/certs";

const FLOATING = "active.tsb.example.com";
const TWO_SITES: Record<string, string> = { mp1: "mp1.tsb.example.com", mp2: "mp2.tsb.example.com" };
const THREE_SITES: Record<string, string> = { ...TWO_SITES, mp3: "tsb-east.corp.example.net" };
const NOT_ON_CERT = "mp9.tsb.example.com";
const DAY_MS = 24 * 3600 * 1000;

interface SitePems {
  fqdn: string;
  tsbCert: string;
  tsbKey: string;
  xcpCert: string;
  xcpKey: string;
  rootca: string;
}

interface Run {
  result: ChildOutput;
  rootPem: string;
  sites: Record<string, SitePems>;
}

// ---- pure specs ----

describe("lib/plan/certs specs", () => {
  it("both leaves of a site cover its permanent FQDN and the floating FQDN; XCP also central's name and SPIFFE id", () => {
    const s = siteCertSpecs("tsb-east.corp.example.net", FLOATING);
    assert.deepEqual(s.tsb.dnsNames, ["tsb-east.corp.example.net", FLOATING]);
    assert.deepEqual(s.tsb.uris, []);
    assert.deepEqual(s.xcp.dnsNames, ["tsb-east.corp.example.net", FLOATING, XCP_CENTRAL_DNS]);
    assert.deepEqual(s.xcp.uris, [XCP_CENTRAL_URI]);
    assert.equal(XCP_CENTRAL_DNS, "central.xcp.tetrate.io");
    assert.equal(XCP_CENTRAL_URI, "spiffe://xcp.tetrate.io/central");
    assert.equal(s.tsb.commonName, "tsb-east.corp.example.net");
  });

  it("leaves are for server and client auth, valid a year, renewed early (inside their validity)", () => {
    const s = siteCertSpecs("mp1.tsb.example.com", FLOATING);
    for (const leaf of [s.tsb, s.xcp]) {
      for (const use of ["digital_signature", "key_encipherment", "server_auth", "client_auth"]) assert.ok(leaf.allowedUses.includes(use), use);
      assert.ok(!leaf.allowedUses.includes("cert_signing"), "a leaf must not sign certificates");
      assert.equal(leaf.validityPeriodHours, LEAF_VALIDITY_HOURS);
      assert.equal(leaf.earlyRenewalHours, LEAF_EARLY_RENEWAL_HOURS);
      assert.ok(leaf.earlyRenewalHours > 0 && leaf.earlyRenewalHours < leaf.validityPeriodHours);
    }
    // Each call hands out its own lists.
    s.tsb.allowedUses.push("x");
    assert.ok(!LEAF_USES.includes("x"));
  });

  it("the root is a long-lived signing CA named after the organization", () => {
    assert.ok(ROOT_VALIDITY_HOURS >= 10 * 365 * 24);
    assert.ok(ROOT_USES.includes("cert_signing"));
    assert.deepEqual(rootCaSubject("tetrate"), { commonName: "tetrate TSB root CA", organization: "tetrate" });
  });
});

// ---- the program's certificates, with real tooling ----

describe("PKI of the set (real keys and certificates under mocks)", () => {
  let two: Run;
  let three: Run;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pki-test-"));
    const threeSiteConfig = baseConfig({
      sites: { mp1: { context: "mp1" }, mp2: { context: "mp2" }, mp3: { context: "mp3", fqdn: THREE_SITES["mp3"] } },
    });
    const [a, b] = await Promise.all([
      runProgram(input(baseConfig(), { tls: "openssl" })),
      runProgram(input(threeSiteConfig, { tls: "openssl" })),
    ]);
    two = collect(a, TWO_SITES);
    three = collect(b, THREE_SITES);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runs = (): Array<[string, Run, Record<string, string>]> => [["two sites", two, TWO_SITES], ["three sites", three, THREE_SITES]];

  it("runs without errors and exports the root every site's values carry", () => {
    for (const [label, run, sites] of runs()) {
      assert.deepEqual(run.result.errors, [], label);
      assert.equal(run.result.outputs?.["floatingFqdn"]?.value, FLOATING, label);
      const exported = run.result.outputs?.["sites"]?.value as Record<string, { fqdn: string }>;
      for (const [site, fqdn] of Object.entries(sites)) {
        assert.equal(exported[site]?.fqdn, fqdn, `${label} ${site}`);
        assert.equal(run.sites[site]!.rootca, run.rootPem, `${label} ${site}: secrets.xcp.rootca is the exported root`);
      }
    }
  });

  it("openssl verify: both leaves of every site chain to the root for sslserver and sslclient, for each of their names", () => {
    for (const [label, run] of runs()) {
      const root = write(dir, `${label}-root.pem`, run.rootPem);
      for (const [site, p] of Object.entries(run.sites)) {
        for (const [leafName, pem, names] of [
          ["tsb", p.tsbCert, [p.fqdn, FLOATING]],
          ["xcp", p.xcpCert, [p.fqdn, FLOATING, XCP_CENTRAL_DNS]],
        ] as const) {
          const leaf = write(dir, `${label}-${site}-${leafName}.pem`, pem);
          for (const purpose of ["sslserver", "sslclient"]) {
            const r = opensslVerify(root, leaf, ["-purpose", purpose, "-x509_strict"]);
            assert.ok(r.ok, `${label} ${site} ${leafName} ${purpose}: ${r.out}`);
          }
          for (const name of names) {
            const r = opensslVerify(root, leaf, ["-purpose", "sslserver", "-verify_hostname", name]);
            assert.ok(r.ok, `${label} ${site} ${leafName} for ${name}: ${r.out}`);
          }
          const wrongName = opensslVerify(root, leaf, ["-purpose", "sslserver", "-verify_hostname", NOT_ON_CERT]);
          assert.ok(!wrongName.ok && /hostname mismatch/i.test(wrongName.out), `${label} ${site} ${leafName} must not verify for ${NOT_ON_CERT}: ${wrongName.out}`);
        }
      }
    }
    // Each run made its own root (same subject, different key): a leaf of one does not verify against the other.
    const otherRoot = write(dir, "other-root.pem", three.rootPem);
    const r = opensslVerify(otherRoot, write(dir, "two-mp1-tsb.pem", two.sites["mp1"]!.tsbCert), ["-purpose", "sslserver"]);
    assert.ok(!r.ok, `a leaf must not verify against another root: ${r.out}`);
  });

  it("node TLS: a client trusting only the root reaches each site's front envoy by its permanent and its floating name", async () => {
    for (const [label, run] of runs()) {
      for (const [site, p] of Object.entries(run.sites)) {
        for (const name of [p.fqdn, FLOATING]) {
          const r = await handshake({ cert: p.tsbCert, key: p.tsbKey }, { ca: run.rootPem, servername: name });
          assert.equal(r.error, undefined, `${label} ${site} tsb as ${name}`);
          assert.equal(r.authorized, true, `${label} ${site} tsb as ${name}`);
        }
        for (const name of [p.fqdn, FLOATING, XCP_CENTRAL_DNS]) {
          const r = await handshake({ cert: p.xcpCert, key: p.xcpKey }, { ca: run.rootPem, servername: name });
          assert.equal(r.error, undefined, `${label} ${site} xcp as ${name}`);
        }
      }
    }
  });

  it("node TLS: the handshake fails for a name not on the certificate and for a client trusting another CA", async () => {
    const p = two.sites["mp1"]!;
    const wrongName = await handshake({ cert: p.tsbCert, key: p.tsbKey }, { ca: two.rootPem, servername: NOT_ON_CERT });
    assert.equal(wrongName.error, "ERR_TLS_CERT_ALTNAME_INVALID");
    const xcpNotTsb = await handshake({ cert: p.tsbCert, key: p.tsbKey }, { ca: two.rootPem, servername: XCP_CENTRAL_DNS });
    assert.equal(xcpNotTsb.error, "ERR_TLS_CERT_ALTNAME_INVALID", "the front envoy cert does not claim XCP central's name");
    for (const name of [p.fqdn, FLOATING]) {
      const otherCa = await handshake({ cert: p.tsbCert, key: p.tsbKey }, { ca: three.rootPem, servername: name });
      assert.ok(otherCa.error !== undefined && otherCa.error !== "ERR_TLS_CERT_ALTNAME_INVALID", `trusting another CA must fail on the chain, got ${String(otherCa.error)}`);
    }
  });

  it("node TLS: mutual auth, a leaf of another site is accepted as a client certificate", async () => {
    const server = three.sites["mp1"]!;
    for (const client of [three.sites["mp2"]!, three.sites["mp3"]!]) {
      const r = await handshake(
        { cert: server.tsbCert, key: server.tsbKey, ca: three.rootPem, requestCert: true },
        { ca: three.rootPem, servername: FLOATING, cert: client.xcpCert, key: client.xcpKey },
      );
      assert.equal(r.error, undefined);
      assert.equal(r.peerAuthorizedByServer, true, `server-side verification of the client: ${String(r.serverError)}`);
    }
    const stranger = two.sites["mp2"]!;
    const r = await handshake(
      { cert: server.tsbCert, key: server.tsbKey, ca: three.rootPem, requestCert: true },
      { ca: three.rootPem, servername: FLOATING, cert: stranger.xcpCert, key: stranger.xcpKey },
    );
    assert.equal(r.peerAuthorizedByServer, false, "a client cert from another CA is not authorized");
  });

  it("SANs are exactly the site's names (XCP: plus central's name and SPIFFE URI)", () => {
    for (const [label, run] of runs()) {
      for (const [site, p] of Object.entries(run.sites)) {
        assert.equal(new X509Certificate(p.tsbCert).subjectAltName, `DNS:${p.fqdn}, DNS:${FLOATING}`, `${label} ${site} tsb`);
        const xcp = new X509Certificate(p.xcpCert);
        assert.equal(xcp.subjectAltName, `DNS:${p.fqdn}, DNS:${FLOATING}, DNS:${XCP_CENTRAL_DNS}, URI:${XCP_CENTRAL_URI}`, `${label} ${site} xcp`);
        assert.ok(xcp.subjectAltName?.split(", ").includes("URI:spiffe://xcp.tetrate.io/central"));
      }
    }
  });

  it("each key in the values matches its certificate; every leaf has its own key", () => {
    for (const [label, run] of runs()) {
      const seen = new Map<string, string>();
      for (const [site, p] of Object.entries(run.sites)) {
        for (const [leafName, cert, key] of [["tsb", p.tsbCert, p.tsbKey], ["xcp", p.xcpCert, p.xcpKey]] as const) {
          assert.ok(new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)), `${label} ${site} ${leafName}: key matches cert`);
          const spki = createPublicKey(key).export({ type: "spki", format: "der" }).toString("base64");
          assert.equal(seen.get(spki), undefined, `${label} ${site} ${leafName} shares a key with ${seen.get(spki) ?? ""}`);
          seen.set(spki, `${site} ${leafName}`);
        }
      }
      assert.notEqual(pub(run.sites["mp1"]!.tsbKey), pub(run.sites["mp2"]!.tsbKey), "mp1 and mp2 front envoy keys differ");
      assert.notEqual(pub(run.sites["mp1"]!.xcpKey), pub(run.sites["mp2"]!.xcpKey), "mp1 and mp2 XCP keys differ");
    }
  });

  it("the root is a self-signed CA valid at least 10 years; leaves are not CAs, valid about a year, all issued by that root", () => {
    const now = Date.now();
    for (const [label, run] of runs()) {
      const root = new X509Certificate(run.rootPem);
      assert.equal(root.ca, true, `${label} root is a CA`);
      assert.ok(root.checkIssued(root) && root.verify(root.publicKey), `${label} root is self-signed`);
      assert.ok(span(root) >= 3650 * DAY_MS, `${label} root validity ${span(root) / DAY_MS} days`);
      assert.ok(Date.parse(root.validFrom) <= now + 60_000 && Date.parse(root.validTo) > now);
      for (const [site, p] of Object.entries(run.sites)) {
        for (const [leafName, pem] of [["tsb", p.tsbCert], ["xcp", p.xcpCert]] as const) {
          const leaf = new X509Certificate(pem);
          const what = `${label} ${site} ${leafName}`;
          assert.equal(leaf.ca, false, `${what} is not a CA`);
          assert.ok(leaf.checkIssued(root), `${what} issued by the root`);
          assert.ok(leaf.verify(root.publicKey), `${what} signed by the root's key`);
          assert.equal(leaf.issuer, root.subject, what);
          assert.ok(Math.abs(span(leaf) - 365 * DAY_MS) <= DAY_MS, `${what} validity ${span(leaf) / DAY_MS} days`);
          assert.ok(Date.parse(leaf.validTo) <= Date.parse(root.validTo), `${what} does not outlive the root`);
          assert.ok(/CN=/.test(leaf.subject) && leaf.subject.includes(`CN=${p.fqdn}`), `${what} subject ${leaf.subject}`);
        }
      }
    }
  });

  it("leaf certificates are renewed before expiry (early renewal inside the validity)", () => {
    for (const [label, run] of runs()) {
      const certs = run.result.registrations.filter((r) => r.kind === "register" && r.type === "tls:index/locallySignedCert:LocallySignedCert");
      assert.equal(certs.length, 2 * Object.keys(run.sites).length, label);
      for (const c of certs) {
        const inputs = reveal(c.inputs) as { earlyRenewalHours?: number; validityPeriodHours?: number };
        assert.ok((inputs.earlyRenewalHours ?? 0) > 0 && (inputs.earlyRenewalHours ?? 0) < (inputs.validityPeriodHours ?? 0), `${label} ${c.name}`);
      }
    }
  });

  it("private keys never appear outside a Pulumi secret, in any registration or stack output", () => {
    for (const [label, run] of runs()) {
      let secretKeys = 0;
      for (const reg of run.result.registrations) {
        const leaks = plainStrings(reg.inputs).filter((s) => s.value.includes("PRIVATE KEY"));
        assert.deepEqual(leaks.map((l) => l.path), [], `${label} ${reg.type} ${reg.name} has a plain private key`);
        if (JSON.stringify(reveal(reg.inputs)).includes("PRIVATE KEY")) secretKeys++;
      }
      // The scan is not vacuous: the CSRs, the certificates and the releases do carry keys, as secrets.
      assert.ok(secretKeys >= 1 + 4 * Object.keys(run.sites).length, `${label}: ${secretKeys} registrations carry a secret key`);
      for (const [name, out] of Object.entries(run.result.outputs ?? {})) {
        if (JSON.stringify(out.value).includes("PRIVATE KEY")) assert.ok(out.secret, `${label} output ${name} carries a private key in plain`);
      }
    }
  });
});

// ---- helpers ----

function collect(result: ChildOutput, sites: Record<string, string>): Run {
  assert.deepEqual(result.errors, []);
  const rootPem = result.outputs?.["rootCaCertPem"]?.value;
  assert.equal(typeof rootPem, "string", "rootCaCertPem output");
  const out: Record<string, SitePems> = {};
  for (const [site, fqdn] of Object.entries(sites)) {
    const inputs = reveal(find(result, `${site}-managementplane`).inputs) as {
      values: { secrets: { tsb: { cert: string; key: string }; xcp: { rootca: string; central: { cert: string; key: string } } } };
    };
    const s = inputs.values.secrets;
    out[site] = { fqdn, tsbCert: s.tsb.cert, tsbKey: s.tsb.key, xcpCert: s.xcp.central.cert, xcpKey: s.xcp.central.key, rootca: s.xcp.rootca };
  }
  return { result, rootPem: rootPem as string, sites: out };
}

function write(dir: string, name: string, content: string): string {
  const p = path.join(dir, name.replace(/[^a-z0-9.-]/gi, "_"));
  writeFileSync(p, content);
  return p;
}

function opensslVerify(caFile: string, certFile: string, extra: string[]): { ok: boolean; out: string } {
  try {
    const out = execFileSync("openssl", ["verify", "-CAfile", caFile, ...extra, certFile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { ok: true, out };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? err.message}` };
  }
}

function pub(keyPem: string): string {
  return createPublicKey(keyPem).export({ type: "spki", format: "pem" }).toString();
}

function span(c: X509Certificate): number {
  return Date.parse(c.validTo) - Date.parse(c.validFrom);
}

interface HandshakeResult {
  /** Client-side error code (undefined: the client verified the server's chain and name). */
  error: string | undefined;
  authorized: boolean;
  /** With requestCert: whether the server verified the client's certificate against its `ca`. */
  peerAuthorizedByServer: boolean | undefined;
  serverError: string | undefined;
}

/** One TLS handshake on 127.0.0.1: a server with the given cert and key, a client that must verify it. */
async function handshake(
  server: { cert: string; key: string; ca?: string; requestCert?: boolean },
  client: { ca: string; servername: string; cert?: string; key?: string },
): Promise<HandshakeResult> {
  let peerAuthorizedByServer: boolean | undefined;
  let serverError: string | undefined;
  const srv = tls.createServer({ ...server, rejectUnauthorized: false }, (socket) => {
    if (server.requestCert) {
      peerAuthorizedByServer = socket.authorized;
      serverError = socket.authorizationError?.toString();
    }
    socket.end("ok");
  });
  srv.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  try {
    const result = await new Promise<{ error: string | undefined; authorized: boolean }>((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ca: client.ca, servername: client.servername, cert: client.cert, key: client.key, rejectUnauthorized: true });
      socket.once("secureConnect", () => {
        const authorized = socket.authorized;
        // Read the server's reply, so the server side has seen (and judged) the client certificate.
        socket.once("data", () => { socket.end(); resolve({ error: undefined, authorized }); });
        socket.once("end", () => resolve({ error: undefined, authorized }));
      });
      socket.once("error", (e: NodeJS.ErrnoException) => {
        socket.destroy();
        resolve({ error: e.code ?? e.message, authorized: false });
      });
    });
    return { ...result, peerAuthorizedByServer, serverError };
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}
