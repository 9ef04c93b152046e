// A stand-in for terraform-provider-tls (which @pulumi/tls wraps) under Pulumi's mocks: real keys,
// CSRs and certificates made with the openssl CLI, so tests can check the PKI with real TLS tooling.
//
// What it mirrors (hashicorp/terraform-provider-tls, internal/provider/common_cert.go and the
// resource_*.go files; Go's crypto/x509.CreateCertificate does the rest):
// - private keys: RSA as PKCS#1 "RSA PRIVATE KEY", ECDSA as SEC1 "EC PRIVATE KEY", ED25519 as PKCS#8;
//   `privateKeyPemPkcs8` and a PKIX `publicKeyPem` for all. Defaults: RSA 2048 bits, curve P224.
// - certificates: version 3, random 128-bit serial, notBefore = now, notAfter = now + validity hours,
//   signature hash chosen from the signer's key as Go does (RSA/P224/P256: SHA-256, P384: SHA-384,
//   P521: SHA-512, Ed25519: none). Extensions, and only these:
//   - basicConstraints, critical, always (the provider sets BasicConstraintsValid): CA:TRUE only when
//     isCaCertificate, else CA:FALSE; pathlen only when isCaCertificate and maxPathLength > 0;
//   - keyUsage, critical, when an allowed use maps to a key usage ("digital_signature" ->
//     digitalSignature, "cert_signing" -> keyCertSign, "crl_signing" -> cRLSign, ...);
//   - extendedKeyUsage, not critical, when an allowed use maps to one ("server_auth" -> serverAuth,
//     "client_auth" -> clientAuth, ...); unknown uses are rejected as the provider's validator does;
//   - subjectKeyIdentifier (SHA-1 of the public key) when isCaCertificate or setSubjectKeyId;
//   - authorityKeyIdentifier (keyid) = the issuer's SKI for a locally signed cert whose CA has one;
//     for a self-signed cert only with setAuthorityKeyId;
//   - subjectAltName (DNS, IP, URI; critical only for an empty subject, RFC 5280 4.2.1.6): from the
//     inputs for a self-signed cert, copied from the CSR for a locally signed one (DNS names, IPs and
//     URIs only, as the provider does; other CSR extensions are ignored, as the provider does).
// - locally signed: subject copied from the CSR; issuer = the CA certificate's subject.
// Not mirrored: OpenSSH key formats and fingerprints, `privateKeyPemWo`, Go's PrintableString choice
// for subject strings (openssl writes UTF8String here: same names for any verifier).
import { execFileSync } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const KEY_USAGES: Record<string, string> = {
  digital_signature: "digitalSignature",
  content_commitment: "nonRepudiation",
  key_encipherment: "keyEncipherment",
  data_encipherment: "dataEncipherment",
  key_agreement: "keyAgreement",
  cert_signing: "keyCertSign",
  crl_signing: "cRLSign",
  encipher_only: "encipherOnly",
  decipher_only: "decipherOnly",
};

const EXT_KEY_USAGES: Record<string, string> = {
  any_extended: "anyExtendedKeyUsage",
  server_auth: "serverAuth",
  client_auth: "clientAuth",
  code_signing: "codeSigning",
  email_protection: "emailProtection",
  ipsec_end_system: "ipsecEndSystem",
  ipsec_tunnel: "ipsecTunnel",
  ipsec_user: "ipsecUser",
  timestamping: "timeStamping",
  ocsp_signing: "OCSPSigning",
  microsoft_server_gated_crypto: "msSGC",
  netscape_server_gated_crypto: "nsSGC",
  microsoft_commercial_code_signing: "msCodeCom",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

const CURVES: Record<string, { openssl: string; md: string }> = {
  P224: { openssl: "secp224r1", md: "sha256" },
  P256: { openssl: "prime256v1", md: "sha256" },
  P384: { openssl: "secp384r1", md: "sha384" },
  P521: { openssl: "secp521r1", md: "sha512" },
};

/** Subject fields in the order Go's pkix.Name.ToRDNSequence writes them (emailAddress last, as an extra name). */
const SUBJECT_FIELDS: Array<[key: string, attr: string]> = [
  ["country", "C"],
  ["province", "ST"],
  ["locality", "L"],
  ["streetAddresses", "street"],
  ["postalCode", "postalCode"],
  ["organization", "O"],
  ["organizationalUnit", "OU"],
  ["commonName", "CN"],
  ["serialNumber", "serialNumber"],
  ["emailAddress", "emailAddress"],
];

export function opensslTlsState(type: string, name: string, rawInputs: Record<string, unknown>): Record<string, unknown> {
  const inputs = unwrap(rawInputs) as Record<string, unknown>;
  const dir = mkdtempSync(path.join(tmpdir(), "tls-mock-"));
  try {
    const ctx = new Ctx(dir, `${type} ${name}`);
    switch (type) {
      case "tls:index/privateKey:PrivateKey":
        return privateKey(ctx, inputs);
      case "tls:index/certRequest:CertRequest":
        return certRequest(ctx, inputs);
      case "tls:index/selfSignedCert:SelfSignedCert":
        return selfSignedCert(ctx, inputs);
      case "tls:index/locallySignedCert:LocallySignedCert":
        return locallySignedCert(ctx, inputs);
      default:
        throw new Error(`opensslTls: no stand-in for ${type} (${name})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The mock monitor deserializes inputs without dropping secret markers: a secret input (a private
 * key PEM passed on from a tls.PrivateKey, or `pulumi.secret(...)`) arrives as
 * `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value}`, while other
 * inputs arrive plain. Unwrap both, at any depth, so each field is read the same way.
 */
function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if ("4dabf18193072939515e22adb298388d" in o && "value" in o) return unwrap(o["value"]);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

/** A temp dir and the openssl runner for one resource. */
class Ctx {
  constructor(readonly dir: string, readonly what: string) {}

  file(name: string, content?: string): string {
    const p = path.join(this.dir, name);
    if (content !== undefined) writeFileSync(p, content, { mode: 0o600 });
    return p;
  }

  read(name: string): string {
    return readFileSync(path.join(this.dir, name), "utf8");
  }

  openssl(...args: string[]): string {
    try {
      return execFileSync("openssl", args, { cwd: this.dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`opensslTls (${this.what}): openssl ${args[0] ?? ""} failed: ${err.stderr ?? err.message}`);
    }
  }
}

// ---- resources ----

function privateKey(ctx: Ctx, inputs: Record<string, unknown>): Record<string, unknown> {
  const algorithm = requiredString(inputs, "algorithm", ctx);
  const key = ctx.file("key.pem");
  let extra: Record<string, unknown> = {};
  if (algorithm === "RSA") {
    const bits = optionalNumber(inputs, "rsaBits") ?? 2048;
    ctx.openssl("genrsa", "-traditional", "-out", key, String(bits));
    extra = { rsaBits: bits };
  } else if (algorithm === "ECDSA") {
    const curveName = optionalString(inputs, "ecdsaCurve") ?? "P224";
    const curve = CURVES[curveName];
    if (!curve) throw new Error(`opensslTls (${ctx.what}): unsupported ecdsaCurve ${curveName}`);
    ctx.openssl("ecparam", "-name", curve.openssl, "-genkey", "-noout", "-out", key);
    extra = { ecdsaCurve: curveName };
  } else if (algorithm === "ED25519") {
    ctx.openssl("genpkey", "-algorithm", "ed25519", "-out", key);
  } else {
    throw new Error(`opensslTls (${ctx.what}): unsupported algorithm ${algorithm}`);
  }
  return {
    ...extra,
    algorithm,
    privateKeyPem: ctx.read("key.pem"),
    privateKeyPemPkcs8: ctx.openssl("pkey", "-in", key),
    publicKeyPem: ctx.openssl("pkey", "-in", key, "-pubout"),
  };
}

function certRequest(ctx: Ctx, inputs: Record<string, unknown>): Record<string, unknown> {
  const keyPem = requiredString(inputs, "privateKeyPem", ctx);
  const key = ctx.file("key.pem", keyPem);
  const subject = subjectLines(inputs["subject"]);
  const sans = sanLines(optionalList(inputs, "dnsNames"), optionalList(inputs, "ipAddresses"), optionalList(inputs, "uris"));
  const conf = [
    "[req]",
    "prompt = no",
    "string_mask = utf8only",
    "distinguished_name = dn",
    ...(sans.length > 0 ? ["req_extensions = ext", "[ext]", `subjectAltName = ${subject.length === 0 ? "critical, " : ""}@alt`, "[alt]", ...sans] : []),
    "[dn]",
    ...subject,
  ];
  const args = ["req", "-new", "-key", key, "-config", ctx.file("req.cnf", conf.join("\n") + "\n"), "-out", "req.csr"];
  if (subject.length === 0) args.push("-subj", "/");
  const md = digestFor(keyPem);
  if (md) args.push(`-${md}`);
  ctx.openssl(...args);
  return { certRequestPem: ctx.read("req.csr"), keyAlgorithm: keyAlgorithm(keyPem) };
}

function selfSignedCert(ctx: Ctx, inputs: Record<string, unknown>): Record<string, unknown> {
  const keyPem = requiredString(inputs, "privateKeyPem", ctx);
  // `openssl ca -selfsign` signs a request: make one carrying just the subject (no extensions).
  const csr = certRequest(ctx, { privateKeyPem: keyPem, subject: inputs["subject"] })["certRequestPem"] as string;
  const isCa = optionalBool(inputs, "isCaCertificate") ?? false;
  const sans = sanLines(optionalList(inputs, "dnsNames"), optionalList(inputs, "ipAddresses"), optionalList(inputs, "uris"));
  const ski = isCa || (optionalBool(inputs, "setSubjectKeyId") ?? false);
  const aki = optionalBool(inputs, "setAuthorityKeyId") ?? false;
  if (aki && !ski) throw new Error(`opensslTls (${ctx.what}): Invalid Certificate Authority: Could not determine Authority Key Identifier`);
  if (isCa && subjectLines(inputs["subject"]).length === 0) {
    throw new Error(`opensslTls (${ctx.what}): Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)`);
  }
  const ext = extensionLines(ctx, inputs, { isCa, ski, aki, sans, emptySubject: subjectLines(inputs["subject"]).length === 0 });
  return sign(ctx, { csrPem: csr, signerKeyPem: keyPem, ext, inputs, selfSign: true, keyAlgorithmField: "keyAlgorithm" });
}

function locallySignedCert(ctx: Ctx, inputs: Record<string, unknown>): Record<string, unknown> {
  const csrPem = requiredString(inputs, "certRequestPem", ctx);
  const caKeyPem = requiredString(inputs, "caPrivateKeyPem", ctx);
  const caCertPem = requiredString(inputs, "caCertPem", ctx);
  const csrFile = ctx.file("in.csr", csrPem);
  const csrText = ctx.openssl("req", "-in", csrFile, "-noout", "-text", "-verify");
  const caText = ctx.openssl("x509", "-in", ctx.file("ca.pem", caCertPem), "-noout", "-text");
  const isCa = optionalBool(inputs, "isCaCertificate") ?? false;
  const fromCsr = csrSans(csrText);
  const ext = extensionLines(ctx, inputs, {
    isCa,
    ski: isCa || (optionalBool(inputs, "setSubjectKeyId") ?? false),
    // Go's CreateCertificate: AuthorityKeyId = parent.SubjectKeyId when the parent has one.
    aki: /X509v3 Subject Key Identifier/.test(caText),
    sans: sanLines(fromCsr.dns, fromCsr.ip, fromCsr.uri),
    emptySubject: /^\s*Subject:\s*$/m.test(csrText),
  });
  return sign(ctx, { csrPem, signerKeyPem: caKeyPem, caCertFile: path.join(ctx.dir, "ca.pem"), ext, inputs, selfSign: false, keyAlgorithmField: "caKeyAlgorithm" });
}

// ---- helpers ----

interface ExtOptions { isCa: boolean; ski: boolean; aki: boolean; sans: string[]; emptySubject: boolean }

function extensionLines(ctx: Ctx, inputs: Record<string, unknown>, o: ExtOptions): string[] {
  const ku: string[] = [];
  const eku: string[] = [];
  for (const use of optionalList(inputs, "allowedUses") ?? []) {
    const k = KEY_USAGES[use];
    const e = EXT_KEY_USAGES[use];
    if (!k && !e) throw new Error(`opensslTls (${ctx.what}): allowedUses: "${use}" is not a value the provider accepts`);
    if (k && !ku.includes(k)) ku.push(k);
    if (e) eku.push(e);
  }
  const maxPath = optionalNumber(inputs, "maxPathLength");
  const lines = [
    "[ext]",
    `basicConstraints = critical, CA:${o.isCa ? "TRUE" : "FALSE"}${o.isCa && maxPath !== undefined && maxPath > 0 ? `, pathlen:${maxPath}` : ""}`,
    ...(ku.length > 0 ? [`keyUsage = critical, ${ku.join(", ")}`] : []),
    ...(eku.length > 0 ? [`extendedKeyUsage = ${eku.join(", ")}`] : []),
    // openssl ca would add a subject key identifier on its own: say explicitly when there is none.
    `subjectKeyIdentifier = ${o.ski ? "hash" : "none"}`,
    `authorityKeyIdentifier = ${o.aki ? "keyid:always" : "none"}`,
    ...(o.sans.length > 0 ? [`subjectAltName = ${o.emptySubject ? "critical, " : ""}@alt`, "[alt]", ...o.sans] : []),
  ];
  return lines;
}

interface SignArgs {
  csrPem: string;
  signerKeyPem: string;
  caCertFile?: string;
  ext: string[];
  inputs: Record<string, unknown>;
  selfSign: boolean;
  keyAlgorithmField: string;
}

/** Issues a certificate with `openssl ca`, which (unlike `openssl x509`) takes exact start and end times. */
function sign(ctx: Ctx, a: SignArgs): Record<string, unknown> {
  const hours = requiredNumber(a.inputs, "validityPeriodHours", ctx);
  const start = new Date(Math.floor(Date.now() / 1000) * 1000);
  const end = new Date(start.getTime() + hours * 3600 * 1000);
  // Go: a random serial below 2^128.
  const serialHex = randomBytes(16).toString("hex").replace(/^0+/, "") || "1";
  const md = digestFor(a.signerKeyPem) ?? "default";
  const policyFields = ["countryName", "stateOrProvinceName", "localityName", "streetAddress", "postalCode", "organizationName", "organizationalUnitName", "commonName", "serialNumber", "emailAddress"];
  const conf = [
    "[ca]",
    "default_ca = this",
    "[this]",
    `database = ${ctx.file("index.txt", "")}`,
    `new_certs_dir = ${ctx.dir}`,
    `serial = ${ctx.file("serial", `${serialHex.length % 2 ? "0" : ""}${serialHex}\n`)}`,
    `default_md = ${md}`,
    "policy = policy",
    // Keep the request's subject as it is (all fields, their order).
    "preserve = yes",
    "email_in_dn = yes",
    "unique_subject = no",
    // The provider copies SANs from the CSR itself (below), nothing else.
    "copy_extensions = none",
    "x509_extensions = ext",
    "[policy]",
    ...policyFields.map((f) => `${f} = optional`),
    ...a.ext,
  ];
  const args = [
    "ca", "-batch", "-notext", "-config", ctx.file("ca.cnf", conf.join("\n") + "\n"),
    "-keyfile", ctx.file("signer.pem", a.signerKeyPem),
    "-in", ctx.file("sign.csr", a.csrPem),
    "-startdate", asn1Time(start), "-enddate", asn1Time(end),
    "-out", "cert.pem",
  ];
  if (a.selfSign) args.push("-selfsign");
  else args.push("-cert", a.caCertFile!);
  ctx.openssl(...args);
  return {
    certPem: ctx.read("cert.pem"),
    validityStartTime: rfc3339(start),
    validityEndTime: rfc3339(end),
    readyForRenewal: false,
    earlyRenewalHours: optionalNumber(a.inputs, "earlyRenewalHours") ?? 0,
    isCaCertificate: optionalBool(a.inputs, "isCaCertificate") ?? false,
    setSubjectKeyId: optionalBool(a.inputs, "setSubjectKeyId") ?? false,
    [a.keyAlgorithmField]: keyAlgorithm(a.signerKeyPem),
  };
}

/** Subject lines for a `prompt = no` DN section, in Go's order; repeated fields get `n.` prefixes. */
function subjectLines(subject: unknown): string[] {
  if (typeof subject !== "object" || subject === null) return [];
  const s = (Array.isArray(subject) ? (subject[0] as unknown) : subject) as Record<string, unknown> | undefined;
  if (!s) return [];
  const lines: string[] = [];
  for (const [key, attr] of SUBJECT_FIELDS) {
    const v = s[key];
    const values = Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : [];
    values.forEach((x, i) => lines.push(`${values.length > 1 ? `${i}.` : ""}${attr} = ${confValue(x)}`));
  }
  return lines;
}

function sanLines(dns: string[] | undefined, ips: string[] | undefined, uris: string[] | undefined): string[] {
  return [
    ...(dns ?? []).map((d, i) => `DNS.${i + 1} = ${confValue(d)}`),
    ...(ips ?? []).map((d, i) => `IP.${i + 1} = ${confValue(d)}`),
    ...(uris ?? []).map((d, i) => `URI.${i + 1} = ${confValue(d)}`),
  ];
}

/** The SANs of a CSR, from `openssl req -text` (DNS, IP and URI entries; the provider copies no others). */
function csrSans(text: string): { dns: string[]; ip: string[]; uri: string[] } {
  const out = { dns: [] as string[], ip: [] as string[], uri: [] as string[] };
  const m = /X509v3 Subject Alternative Name:[^\n]*\n\s*([^\n]*)/.exec(text);
  for (const entry of m?.[1]?.split(", ") ?? []) {
    if (entry.startsWith("DNS:")) out.dns.push(entry.slice(4));
    else if (entry.startsWith("IP Address:")) out.ip.push(entry.slice(11));
    else if (entry.startsWith("URI:")) out.uri.push(entry.slice(4));
  }
  return out;
}

/** Escapes a value for an openssl config file (`$` expands variables, `#` starts a comment). */
function confValue(v: string): string {
  return v.replace(/[\\$#"']/g, (c) => `\\${c}`);
}

/** The hash Go's x509 picks for a signer key; undefined for Ed25519 (no separate hash). */
function digestFor(keyPem: string): string | undefined {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === "secp384r1" ? "sha384" : curve === "secp521r1" ? "sha512" : "sha256";
  }
  return key.asymmetricKeyType === "ed25519" ? undefined : "sha256";
}

function keyAlgorithm(keyPem: string): string {
  const t = createPrivateKey(keyPem).asymmetricKeyType;
  return t === "rsa" ? "RSA" : t === "ec" ? "ECDSA" : t === "ed25519" ? "ED25519" : String(t);
}

/** YYYYMMDDHHMMSSZ; openssl stores it as UTCTime up to 2049, as Go does. */
function asn1Time(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

function requiredString(inputs: Record<string, unknown>, key: string, ctx: Ctx): string {
  const v = inputs[key];
  if (typeof v !== "string" || v === "") throw new Error(`opensslTls (${ctx.what}): input ${key} is missing or not a known string`);
  return v;
}

function requiredNumber(inputs: Record<string, unknown>, key: string, ctx: Ctx): number {
  const v = inputs[key];
  if (typeof v !== "number") throw new Error(`opensslTls (${ctx.what}): input ${key} is missing or not a number`);
  return v;
}

function optionalString(inputs: Record<string, unknown>, key: string): string | undefined {
  const v = inputs[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function optionalNumber(inputs: Record<string, unknown>, key: string): number | undefined {
  const v = inputs[key];
  return typeof v === "number" ? v : undefined;
}

function optionalBool(inputs: Record<string, unknown>, key: string): boolean | undefined {
  const v = inputs[key];
  return typeof v === "boolean" ? v : undefined;
}

function optionalList(inputs: Record<string, unknown>, key: string): string[] | undefined {
  const v = inputs[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
}
