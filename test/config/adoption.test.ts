// Config of an adopted management plane (issue 13, docs/adopting.md): `sites.<s>.adopt`, and the secrets
// `adoptedValues` and `adoptedCa`. Every refusal names the key, says what is allowed and how to fix it, and
// never repeats a password or the CA key. The CA, a leaf and a stranger's key are made by openssl here.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseConfig, type RawConfig } from "../../lib/config/config";
import { installedImageRefusal, parseAdoptionSecrets, parseSiteAdoption, type InstalledExpectations } from "../../lib/config/adoption";
import { ConfigError } from "../../lib/config/errors";
import { baseConfig } from "../fixtures";
import { demosValues, idpValues, sandboxValues } from "../fixtures/adoptionValues";

// ---------------------------------------------------------------------------------------------------
// A real CA (with its key), a leaf it signed, and a key of someone else.

let dir = "";
const pki = { caCert: "", caKey: "", leafCert: "", leafKey: "", otherKey: "" };
const openssl = (...args: string[]): void => { execFileSync("openssl", args, { cwd: dir, stdio: "pipe" }); };
const read = (f: string): string => readFileSync(path.join(dir, f), "utf8");

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), "adoption-config-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/O=Acme/CN=Acme TSB root CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", "-x509", ...ec, "-keyout", "leaf.key", "-out", "leaf.crt", "-days", "30", "-subj", "/O=Acme/CN=tsb.acme.example.com",
    "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "subjectAltName=DNS:tsb.acme.example.com");
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.key");
  Object.assign(pki, { caCert: read("ca.crt"), caKey: read("ca.key"), leafCert: read("leaf.crt"), leafKey: read("leaf.key"), otherKey: read("other.key") });
});
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------
// Helpers

const ADMIN_PASSWORD = "Adm1n-pw-do-not-print";
const LDAP_PASSWORD = "ldap-pw-do-not-print";
/** demosValues (tsb-helm-install-demos) with recognisable secrets. */
const installed = (): Record<string, unknown> => {
  const v = structuredClone(demosValues);
  v.secrets.tsb.adminPassword = ADMIN_PASSWORD;
  v.secrets.ldap.bindpassword = LDAP_PASSWORD;
  return v;
};
/** What `tsb.*` must say for demosValues. */
const TSB = { version: "1.7.2", registry: "registry.example.com/tsb", organization: "tetrate" };
const EXPECT: InstalledExpectations = { ...TSB, frontEnvoyPort: 443 };
const SECRETS = new Set(["standbyServiceAccountJwk", "adoptedValues", "adoptedCa"]);
const ADOPT = { release: "tsb-managementplane", step: "import", floatingRecord: { type: "CNAME" } };

const ca = (over: Record<string, unknown> = {}): string => JSON.stringify({ certPem: pki.caCert, keyPem: pki.caKey, ...over });

/** A realistic adopting set: mp1 adopted (step import), its installed values and CA as secrets. */
function adoptingConfig(over: { adopt?: unknown; values?: unknown; ca?: string; tsb?: Record<string, unknown>; dns?: unknown; sites?: unknown } = {}): Record<string, unknown> {
  return baseConfig({
    domain: "acme.example.com",
    floatingFqdn: "tsb.acme.example.com",
    sites: over.sites ?? { mp1: { context: "mp1", adopt: over.adopt ?? ADOPT } },
    dns: over.dns ?? { provider: "route53", zoneId: "Z0123456789" },
    tsb: { ...TSB, ...over.tsb },
    adoptedValues: over.values === undefined ? JSON.stringify(installed()) : typeof over.values === "string" ? over.values : JSON.stringify(over.values),
    adoptedCa: over.ca ?? ca(),
  });
}

function raw(config: Record<string, unknown>): RawConfig {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

const parse = (config: Record<string, unknown>, secrets: ReadonlySet<string> = SECRETS) => parseConfig(raw(config), secrets).config;

/** The ConfigError message of `run`; fails when nothing (or something else) is thrown. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail("accepted");
}

/** The message names the key first, and holds no secret of the set. */
function assertRefusal(message: string, key: string, ...parts: RegExp[]): void {
  assert.ok(message.startsWith(`tsb-ha:${key} `), `names ${key} first: ${message}`);
  for (const p of parts) assert.match(message, p);
  for (const secret of [ADMIN_PASSWORD, LDAP_PASSWORD, pki.caKey, pki.otherKey, pki.leafKey, "BEGIN PRIVATE KEY", "BEGIN EC PRIVATE KEY", "BEGIN CERTIFICATE"]) {
    assert.ok(!message.includes(secret), `holds no secret: ${message}`);
  }
  assert.equal(message.split("\n").length, 1, "one line");
}

const configRefusal = (config: Record<string, unknown>, secrets?: ReadonlySet<string>) => refusal(() => parse(config, secrets));

// ---------------------------------------------------------------------------------------------------

describe("sites.<s>.adopt", () => {
  it("accepts the release, step and record of the chapter's example; namespace defaults to tsb", () => {
    const cfg = parse(adoptingConfig());
    assert.deepEqual(cfg.sites[0]!.adopt, { release: "tsb-managementplane", namespace: "tsb", step: "import", floatingRecord: { type: "CNAME" } });
    assert.deepEqual(parseSiteAdoption("mp1", { ...ADOPT, namespace: "tsb", step: "activate", trustBundleRolledOut: false, floatingRecord: { type: "A" } }, "route53"),
      { release: "tsb-managementplane", namespace: "tsb", step: "activate", floatingRecord: { type: "A" }, trustBundleRolledOut: false });
    assert.equal(parseSiteAdoption("mp1", { ...ADOPT, trustBundleRolledOut: true }, "route53")?.trustBundleRolledOut, true);
    assert.equal(parseSiteAdoption("mp1", { ...ADOPT, namespace: null }, "route53")?.namespace, "tsb", "null is unset");
  });

  it("is no adoption when unset or null, and leaves the other sites alone", () => {
    assert.equal(parseSiteAdoption("mp1", undefined, "route53"), undefined);
    assert.equal(parseSiteAdoption("mp1", null, "route53"), undefined);
    const cfg = parse(adoptingConfig({ sites: { mp1: { adopt: ADOPT }, mp2: {} } }));
    assert.equal(cfg.sites[1]!.adopt, undefined);
    assert.ok(!("adopt" in cfg.sites[1]!));
  });

  it("accepts every Helm release name up to 53 characters, dots included", () => {
    for (const release of ["mp", "managementplane", "tsb-managementplane", "a", "0", "tsb1", "1tsb", "tsb.mp", "a.b-c.d", "a1.b2", "a".repeat(53), `${"a".repeat(26)}.${"b".repeat(26)}`]) {
      assert.equal(parseSiteAdoption("mp1", { ...ADOPT, release }, "route53")?.release, release, release);
    }
  });

  it("refuses a release name Helm refuses, saying where to read the real one", () => {
    for (const release of ["", "a".repeat(54), "Tsb", "tsb_mp", "-mp", "mp-", ".mp", "mp.", "mp..x", "mp.-x", "mp-.x", "mp x", "mp/x", "mp\nx", "tsb-MP", 7, undefined]) {
      const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, release }, "route53"));
      assertRefusal(m, "sites.mp1.adopt.release", /is not a Helm release name\. Allowed: the NAME column of `helm ls -n tsb`/, /never guessed/);
    }
    const m = configRefusal(adoptingConfig({ adopt: { ...ADOPT, release: "Tsb_MP" } }));
    assertRefusal(m, "sites.mp1.adopt.release", /= "Tsb_MP" /);
  });

  it("refuses any namespace but tsb, saying why", () => {
    for (const namespace of ["istio-system", "tsb2", "TSB", "", 1]) {
      const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, namespace }, "route53"));
      assertRefusal(m, "sites.mp1.adopt.namespace", /is not supported\. Allowed: tsb \(the fence, gates and probes of this program work in namespace tsb/);
    }
  });

  it("refuses a step that is not import or activate, naming the order", () => {
    for (const step of ["standby", "Import", "", 1, undefined, true]) {
      const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, step }, "route53"));
      assertRefusal(m, "sites.mp1.adopt.step", /is not an adoption step\. Allowed: import \(first update\), then activate \(docs\/adopting\.md\)/);
    }
  });

  it("refuses adopt that is not an object, and keys it does not know, listing the allowed ones", () => {
    for (const value of ["tsb-managementplane", true, 1, ["release"]]) {
      const m = refusal(() => parseSiteAdoption("mp1", value, "route53"));
      assertRefusal(m, "sites.mp1.adopt", /^tsb-ha:sites\.mp1\.adopt = .* is not an object\. Allowed: \{release, namespace, step, floatingRecord, trustBundleRolledOut\}; see docs\/adopting\.md$/);
    }
    for (const k of ["chartVersion", "Release", "floatingrecord"]) {
      const m = refusal(() => parseSiteAdoption("mp2", { ...ADOPT, [k]: "x" }, "route53"));
      assertRefusal(m, `sites.mp2.adopt.${k}`, /= "x" is not an adoption setting\. Allowed: release, namespace, step, floatingRecord, trustBundleRolledOut$/);
    }
  });

  it("needs the live floating record's type: A, AAAA or CNAME", () => {
    for (const type of ["A", "AAAA", "CNAME"]) {
      assert.deepEqual(parseSiteAdoption("mp1", { ...ADOPT, floatingRecord: { type } }, "route53")?.floatingRecord, { type });
    }
    for (const floatingRecord of [undefined, null, "CNAME", ["CNAME"], {}, { type: "MX" }, { type: "cname" }, { type: "" }, { type: 5 }]) {
      const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, floatingRecord }, "route53"));
      assertRefusal(m, "sites.mp1.adopt.floatingRecord.type", /is required: the type of the floating name's live record, which is imported as it is\. Allowed: A, AAAA, CNAME$/);
    }
    const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, floatingRecord: { type: "A", ttl: 60 } }, "route53"));
    assertRefusal(m, "sites.mp1.adopt.floatingRecord.ttl", /= 60 is not a record setting\. Allowed: type, id$/);
  });

  const ID = "0123456789abcdef0123456789abcdef";
  it("takes the record id with Cloudflare (32 hex digits) and refuses it with route53", () => {
    assert.deepEqual(parseSiteAdoption("mp1", { ...ADOPT, floatingRecord: { id: ID, type: "CNAME" } }, "cloudflare")?.floatingRecord, { type: "CNAME", id: ID });
    const cfg = parse(adoptingConfig({ dns: { provider: "cloudflare", zoneId: "023e105f4ecef8ad9ca31a8372d0c353" }, adopt: { ...ADOPT, floatingRecord: { type: "A", id: ID } } }));
    assert.deepEqual(cfg.sites[0]!.adopt?.floatingRecord, { type: "A", id: ID });
    for (const id of [undefined, "", ID.slice(1), `${ID}0`, `x${ID}`, `${ID}x`, ID.toUpperCase(), `${ID.slice(2)}gg`, 12345, [ID]]) {
      const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, floatingRecord: { type: "CNAME", id } }, "cloudflare"));
      assertRefusal(m, "sites.mp1.adopt.floatingRecord.id", /is required with Cloudflare: the live record's id, 32 hex digits/,
        /curl -s -H "Authorization: Bearer \$CLOUDFLARE_API_TOKEN" 'https:\/\/api\.cloudflare\.com\/client\/v4\/zones\/<zone>\/dns_records\?name=<floating fqdn>' \| jq -r '\.result\[0\]\.id'/);
    }
    for (const provider of ["route53", undefined]) {
      const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, floatingRecord: { type: "CNAME", id: ID } }, provider));
      assertRefusal(m, "sites.mp1.adopt.floatingRecord.id", /is for Cloudflare only\. Allowed: leave it unset with route53 \(its import ID is <zone>_<name>_<type>\)/);
    }
    const m = configRefusal(adoptingConfig({ adopt: { ...ADOPT, floatingRecord: { type: "CNAME", id: ID } } }));
    assertRefusal(m, "sites.mp1.adopt.floatingRecord.id", /Cloudflare only/);
  });

  it("refuses trustBundleRolledOut that is not a boolean, saying to drop the quotes", () => {
    for (const rolled of ["true", "false", 1, null]) {
      const m = refusal(() => parseSiteAdoption("mp1", { ...ADOPT, trustBundleRolledOut: rolled }, "route53"));
      assertRefusal(m, "sites.mp1.adopt.trustBundleRolledOut", /is not allowed\. Allowed: true or false \(write it without quotes\)$/);
    }
  });

  it("refuses a second adopting site: a set has one database", () => {
    const m = configRefusal(adoptingConfig({ sites: { mp1: { adopt: ADOPT }, mp2: {}, mp3: { adopt: { ...ADOPT, release: "mp" } } } }));
    assertRefusal(m, "sites.mp3.adopt", /adopts a second management plane beside mp1\. Allowed: one adopted site per set/);
  });
});

describe("adoptedValues and adoptedCa", () => {
  it("parse into the installed values, the CA with its key, and the admin password", () => {
    const cfg = parse(adoptingConfig());
    assert.deepEqual(cfg.adoption, { values: installed(), ca: { certPem: pki.caCert, keyPem: pki.caKey }, adminPassword: ADMIN_PASSWORD });
  });

  it("take the YAML of helm get values -o yaml", () => {
    const yamlText = "image:\n  tag: 1.7.2\nsecrets:\n  tsb:\n    adminPassword: yaml-pw\nspec:\n  organization: tetrate\n  components:\n    frontEnvoy:\n      port: 443\n";
    const cfg = parse(adoptingConfig({ values: yamlText }));
    assert.equal(cfg.adoption?.adminPassword, "yaml-pw");
    assert.deepEqual(cfg.adoption?.values, { image: { tag: "1.7.2" }, secrets: { tsb: { adminPassword: "yaml-pw" } }, spec: { organization: "tetrate", components: { frontEnvoy: { port: 443 } } } });
  });

  it("without the CA key: the trust-bundle route, a CA certificate and no keyPem", () => {
    for (const over of [{ keyPem: undefined }, { keyPem: "" }]) {
      const cfg = parse(adoptingConfig({ ca: ca(over) }));
      assert.deepEqual(cfg.adoption?.ca, { certPem: pki.caCert });
    }
  });

  it("are absent when no site adopts (unset or empty)", () => {
    assert.equal(parse(baseConfig(), new Set(["standbyServiceAccountJwk"])).adoption, undefined);
    assert.equal(parse(baseConfig({ adoptedValues: "", adoptedCa: "" })).adoption, undefined);
    assert.equal(parseAdoptionSecrets({}, SECRETS, undefined, EXPECT), undefined);
  });

  it("are refused without an adopting site, with the command that removes them", () => {
    for (const key of ["adoptedValues", "adoptedCa"]) {
      const extra = key === "adoptedValues" ? JSON.stringify(installed()) : ca();
      const m = configRefusal(baseConfig({ [key]: extra }));
      assertRefusal(m, key, /= "\(secret, not shown\)" is set but no site sets adopt\. Allowed: only with sites\.<site>\.adopt\./, new RegExp(`Fix: pulumi config rm tsb-ha:${key}$`));
    }
  });

  it("are required while a site adopts, each with the command that sets it as a secret", () => {
    for (const value of [undefined, ""]) {
      const v = configRefusal({ ...adoptingConfig(), adoptedValues: value });
      assertRefusal(v, "adoptedValues", /^tsb-ha:adoptedValues \(not set\) is required while mp1 is adopted\. /,
        /Fix: helm get values <release> -n tsb -o yaml \| pulumi config set --secret tsb-ha:adoptedValues$/);
      const c = configRefusal({ ...adoptingConfig(), adoptedCa: value });
      assertRefusal(c, "adoptedCa", /^tsb-ha:adoptedCa \(not set\) is required while mp1 is adopted\. /,
        /Fix: pulumi config set --secret --path 'tsb-ha:adoptedCa\.certPem' < ca\.crt and, when you have it, pulumi config set --secret --path 'tsb-ha:adoptedCa\.keyPem' < ca\.key$/);
    }
  });

  it("are refused in plain text, without showing them", () => {
    for (const key of ["adoptedValues", "adoptedCa"]) {
      const secrets = new Set([...SECRETS].filter((k) => k !== key));
      const m = configRefusal(adoptingConfig(), secrets);
      assertRefusal(m, key, /= "\(value not shown\)" is stored in plain text\. Allowed: a secret\. Fix: .*pulumi config set --secret /);
    }
  });

  it("must agree with tsb.organization and frontEnvoyPort, naming the value to set", () => {
    const cases: Array<[string, Record<string, unknown>, string, string, string]> = [
      ["organization", { organization: "acme" }, "spec.organization", '"tetrate"', '"acme"'],
      ["frontEnvoyPort", { frontEnvoyPort: 8443 }, "spec.components.frontEnvoy.port", "443", "8443"],
    ];
    for (const [key, tsb, installedPath, installedValue, configured] of cases) {
      const m = configRefusal(adoptingConfig({ tsb }));
      assertRefusal(m, `tsb.${key}`, new RegExp(`^tsb-ha:tsb\\.${key} = ${configured} differs from the installed ${installedPath.replace(/\./g, "\\.")} \\(${installedValue}\\)\\. Adoption changes no installed value \\(a standby must run as its active does\\): `),
        new RegExp(`set tsb-ha:tsb\\.${key} to ${installedValue}$`));
    }
  });

  it("leave the image to the adoption plan: a version or registry other than the installed one is accepted here", () => {
    assert.ok(parse(adoptingConfig({ tsb: { version: "1.12.4", registry: "registry.example.com/tetrate" } })).adoption);
  });

  it("installedImageRefusal: image.tag, image.registry and spec.hub must be tsb.* while adopting, each naming the value to set", () => {
    const tsb = { version: "1.7.2", registry: "registry.example.com/tsb" };
    assert.equal(installedImageRefusal({ image: { tag: "1.7.2", registry: "registry.example.com/tsb" }, spec: { hub: "registry.example.com/tsb" } }, tsb), undefined);
    assert.equal(installedImageRefusal({}, tsb), undefined, "nothing set, nothing compared");
    const cases: Array<[Record<string, unknown>, string, string, string]> = [
      [{ image: { tag: "1.7.1" } }, "version", "image.tag", '"1.7.1"'],
      [{ image: { registry: "r.example.com/a" } }, "registry", "image.registry", '"r.example.com/a"'],
      [{ spec: { hub: "r.example.com/hub" } }, "registry", "spec.hub", '"r.example.com/hub"'],
    ];
    for (const [values, key, installedPath, installed] of cases) {
      const e = installedImageRefusal(values, tsb);
      assert.ok(e, installedPath);
      assert.match(e.message, new RegExp(`^tsb-ha:tsb\\.${key} = .* differs from the installed ${installedPath.replace(/\./g, "\\.")} \\(${installed.replace(/\./g, "\\.")}\\)\\. .*once activate has succeeded.*: set tsb-ha:tsb\\.${key} to ${installed.replace(/\./g, "\\.")}$`));
    }
  });

  it("an installed front envoy without a port listens on TSB's default 8443: tsb.frontEnvoyPort must say so", () => {
    const bare = installed();
    delete ((bare["spec"] as Record<string, unknown>)["components"] as Record<string, unknown>)["frontEnvoy"];
    const m = configRefusal(adoptingConfig({ values: bare }));
    assertRefusal(m, "tsb.frontEnvoyPort", /^tsb-ha:tsb\.frontEnvoyPort = 443 differs from the installed spec\.components\.frontEnvoy\.port \(8443 \(spec\.components\.frontEnvoy\.port is unset: TSB's default\)\)\. .*set tsb-ha:tsb\.frontEnvoyPort to 8443$/);
    assert.ok(parse(adoptingConfig({ values: bare, tsb: { frontEnvoyPort: 8443 } })).adoption);
  });

  it("compare only what the installed values set", () => {
    const bare = installed();
    delete bare["image"];
    delete (bare["spec"] as Record<string, unknown>)["organization"];
    delete (bare["spec"] as Record<string, unknown>)["components"];
    const cfg = parse(adoptingConfig({ values: bare, tsb: { version: "1.12.4", registry: "other.example.com/t", organization: "acme", frontEnvoyPort: 8443 } }));
    assert.deepEqual(cfg.adoption?.values, bare);
    // Each one alone is compared (the others absent).
    const only = (v: Record<string, unknown>) => ({ secrets: { tsb: { adminPassword: ADMIN_PASSWORD } }, ...v });
    const got = (v: Record<string, unknown>, tsb: InstalledExpectations) => refusal(() => parseAdoptionSecrets(
      { adoptedValues: JSON.stringify(only(v)), adoptedCa: ca() }, SECRETS, "mp1", tsb));
    assertRefusal(got({ spec: { organization: "acme" } }, EXPECT), "tsb.organization");
    assertRefusal(got({ spec: { components: { frontEnvoy: { port: "443" } } } }, EXPECT), "tsb.frontEnvoyPort", /\("443"\)/);
    assert.ok(parseAdoptionSecrets({ adoptedValues: JSON.stringify(only({})), adoptedCa: ca() }, SECRETS, "mp1", { ...EXPECT, frontEnvoyPort: 8443 }), "no port: TSB's default");
  });

  it("accept every installer's values when tsb.* says what they say", () => {
    for (const v of [sandboxValues, demosValues, idpValues]) {
      const expect: InstalledExpectations = { version: v.image.tag, registry: v.image.registry, organization: v.spec.organization, frontEnvoyPort: v.spec.components.frontEnvoy.port };
      const got = parseAdoptionSecrets({ adoptedValues: JSON.stringify(v), adoptedCa: ca() }, SECRETS, "mp1", expect);
      assert.equal(got?.adminPassword, "<admin-password>");
      assert.deepEqual(got?.values, v);
    }
  });

  it("need secrets.tsb.adminPassword, and say how a tctl install gets it into the values", () => {
    const noSecrets = installed();
    delete noSecrets["secrets"];
    for (const password of [undefined, "", 1234, { value: "x" }]) {
      const v = installed();
      (v["secrets"] as Record<string, Record<string, unknown>>)["tsb"]!["adminPassword"] = password;
      for (const values of [v, noSecrets]) {
        const m = configRefusal(adoptingConfig({ values }));
        assertRefusal(m, "adoptedValues", /^tsb-ha:adoptedValues = "\[secret\]" has no secrets\.tsb\.adminPassword\. The program logs in to the adopted MP's API with it/,
          /Installs made with tctl keep it in Secret admin-credentials: hand the MP to Helm with the password in its values first \(docs\/adopting\.md, prerequisites\)$/);
      }
    }
  });

  it("refuse an adoptedCa that is not an object of certPem and keyPem", () => {
    for (const text of ["not json", "[]", '"-----BEGIN CERTIFICATE-----"', "null", "42"]) {
      const m = configRefusal(adoptingConfig({ ca: text }));
      assertRefusal(m, "adoptedCa", /^tsb-ha:adoptedCa = "\(secret, not shown\)" is not an object\. Allowed: \{certPem, keyPem\}\. Fix: pulumi config set --secret --path 'tsb-ha:adoptedCa\.certPem'/);
    }
    const m = configRefusal(adoptingConfig({ ca: ca({ chainPem: pki.caCert }) }));
    assertRefusal(m, "adoptedCa.chainPem", /= "\(secret, not shown\)" is not a CA setting\. Allowed: certPem, keyPem$/);
  });

  it("refuse a certPem that is not a PEM certificate", () => {
    for (const certPem of [undefined, "", "hello", pki.caKey, 42, pki.caCert.replace(/[A-Z]{8}/g, "")]) {
      const m = configRefusal(adoptingConfig({ ca: ca({ certPem }) }));
      assertRefusal(m, "adoptedCa.certPem", /= "\(secret, not shown\)" is not a PEM certificate\. Allowed: the CA certificate that issued the live tsb-certs and xcp-central-cert$/);
    }
  });

  it("refuse a leaf as the CA, naming its subject", () => {
    const m = configRefusal(adoptingConfig({ ca: ca({ certPem: pki.leafCert, keyPem: pki.leafKey }) }));
    assertRefusal(m, "adoptedCa.certPem", /^tsb-ha:adoptedCa\.certPem = "\(secret, not shown\)" is not a CA certificate \(subject O=Acme, CN=tsb\.acme\.example\.com; basicConstraints CA:FALSE\)\. Allowed: the CA that issued the live leaves, not a leaf$/);
  });

  it("refuse a keyPem that is not the CA's own key", () => {
    // { key } would be a key object to node's createPrivateKey: only PEM text is a key here.
    for (const keyPem of [pki.otherKey, pki.leafKey, "not a key", 42, pki.caCert, { key: pki.caKey }, [pki.caKey]]) {
      const m = configRefusal(adoptingConfig({ ca: ca({ keyPem }) }));
      assertRefusal(m, "adoptedCa.keyPem", /= "\(secret, not shown\)" is not the private key of adoptedCa\.certPem\. Allowed: that CA's key in PEM, or unset \(the trust-bundle route, docs\/adopting\.md\)$/);
    }
  });

  it("check the secrets only when a site adopts, in the order of the chapter", () => {
    // The values are checked before the CA: a missing password is named even with a bad CA.
    const v = installed();
    delete (v["secrets"] as Record<string, Record<string, unknown>>)["tsb"]!["adminPassword"];
    assertRefusal(configRefusal(adoptingConfig({ values: v, ca: "not json" })), "adoptedValues", /adminPassword/);
    // adoptedValues is named before adoptedCa when both are missing.
    assertRefusal(configRefusal({ ...adoptingConfig(), adoptedValues: undefined, adoptedCa: undefined }), "adoptedValues", /is required/);
  });
});
