// What an adopted set does in each update (docs/adopting.md): the step and its preflight, the import IDs,
// the drift refusal of step import, the SANs the new leaves keep, and each site's values. Configs go
// through parseConfig and plans through planSet, as index.ts does; histories are what index.ts records.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseConfig, type SetConfig } from "../../lib/config/config";
import { adoptedSans, adoptedSiteValues, leafSpecsFor, planAdoption, valuesDriftRefusal, type AdoptionPlan } from "../../lib/adoption/plan";
import { planSet, type AdoptedSans, type SetHistory, type SitePlan } from "../../lib/plan/topology";
import { siteCertSpecs } from "../../lib/plan/certs";
import { highAvailabilityBlock } from "../../lib/plan/values";
import { ConfigError } from "../../lib/config/errors";
import { baseConfig } from "../fixtures";
import { idpValues, sandboxValues } from "../fixtures/adoptionValues";

// ---------------------------------------------------------------------------------------------------
// The adopted CA and the live leaves (self-signed: only their SANs matter here), made by openssl.

let dir = "";
const pem = { caCert: "", caKey: "", liveTsb: "", liveXcp: "" };
const openssl = (...args: string[]): void => { execFileSync("openssl", args, { cwd: dir, stdio: "pipe" }); };
const read = (f: string): string => readFileSync(path.join(dir, f), "utf8");
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"];

const FQDN = "mp1.acme.example.com";
const FLOATING = "tsb.acme.example.com";

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), "adoption-plan-"));
  openssl("req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=Acme root", "-addext", "basicConstraints=critical,CA:TRUE");
  openssl("req", "-x509", ...EC, "-keyout", "tsb.key", "-out", "tsb.crt", "-subj", `/CN=${FLOATING}`, "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "subjectAltName=DNS:Tsb.Acme.Example.com,DNS:tsb-old.acme.example.com,IP:10.0.0.7");
  openssl("req", "-x509", ...EC, "-keyout", "xcp.key", "-out", "xcp.crt", "-subj", "/CN=central", "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "subjectAltName=DNS:central.xcp.tetrate.io,DNS:xcp-old.acme.example.com,URI:spiffe://xcp.tetrate.io/central,IP:10.0.0.8,IP:fd00::8");
  Object.assign(pem, { caCert: read("ca.crt"), caKey: read("ca.key"), liveTsb: read("tsb.crt"), liveXcp: read("xcp.crt") });
});
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------
// Configs and histories

/** `tsb.*` of the idp install (tsb.acme): version, registry, organisation and port as installed. */
const IDP_TSB = { version: idpValues.image.tag, registry: idpValues.image.registry, organization: idpValues.spec.organization, frontEnvoyPort: idpValues.spec.components.frontEnvoy.port };
const CF_ZONE = "023e105f4ecef8ad9ca31a8372d0c353";
const CF_ID = "372e67954025e0ba6aaa6d586b9e0b59";

interface Over { step?: string; sites?: Record<string, Record<string, unknown>>; activeSite?: string; adopt?: Record<string, unknown>; dns?: unknown; keyPem?: boolean; tsb?: Record<string, unknown>; chart?: Record<string, unknown> }

/** The acme set: mp1 adopts the idp install (release tsb-managementplane); `sites` adds the others. */
function config(over: Over = {}): SetConfig {
  const adopt = { release: "tsb-managementplane", step: over.step ?? "import", floatingRecord: { type: "CNAME" }, ...over.adopt };
  const settings: Record<string, unknown> = baseConfig({
    activeSite: over.activeSite ?? "mp1",
    domain: "acme.example.com",
    floatingFqdn: FLOATING,
    sites: { mp1: { context: "mp1", adopt }, ...over.sites },
    dns: over.dns ?? { provider: "route53", zoneId: "Z0123456789" },
    tsb: { ...IDP_TSB, ...over.tsb },
    adoptedValues: JSON.stringify(idpValues),
    adoptedCa: JSON.stringify({ certPem: pem.caCert, ...(over.keyPem === false ? {} : { keyPem: pem.caKey }) }),
    ...over.chart,
  });
  const raw = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  return parseConfig(raw, new Set(["standbyServiceAccountJwk", "adoptedValues", "adoptedCa", "secretValues", "siteSecretValues"])).config;
}

const KEPT: AdoptedSans = {
  tsb: { dnsNames: [FQDN, FLOATING, "tsb-old.acme.example.com"], ipAddresses: ["10.0.0.7"], uris: [] },
  xcp: { dnsNames: [FQDN, FLOATING, "central.xcp.tetrate.io"], ipAddresses: ["10.0.0.8"], uris: ["spiffe://xcp.tetrate.io/central"] },
};

/** An update as index.ts runs it: plan, then the history it records (step reached, SANs kept). */
function update(cfg: SetConfig, previous: SetHistory | undefined, sans: AdoptedSans | undefined = KEPT): { adoption: AdoptionPlan | undefined; history: SetHistory } {
  const adoption = planAdoption(cfg, previous);
  const history = planSet(cfg, previous).history;
  if (adoption) {
    const entry = history.sites[adoption.site]!;
    entry.adoptStep = adoption.decision.historyStep;
    // The preflight returns the live leaves' SANs when the step issues leaves (components/adoptionPreflight.ts).
    const kept = adoption.recordedSans ?? (adoption.preflight && adoption.decision.issueLeaves ? sans : undefined);
    if (kept) entry.adoptSans = kept;
  }
  return { adoption, history };
}

const imported = update(config(), undefined).history;
const activated = update(config({ step: "activate" }), imported).history;

// ---------------------------------------------------------------------------------------------------

describe("planAdoption", () => {
  it("is undefined when no site adopts", () => {
    const cfg = parseConfig(Object.fromEntries(Object.entries(baseConfig()).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])), new Set(["standbyServiceAccountJwk"])).config;
    assert.equal(planAdoption(cfg, undefined), undefined);
    assert.equal(planAdoption(cfg, planSet(cfg).history), undefined);
  });

  it("step import: runs the preflight and imports namespace, release and the Route53 record <zone>_<fqdn>_<type>", () => {
    const plan = planAdoption(config(), undefined)!;
    assert.equal(plan.site, "mp1");
    assert.equal(plan.release, "tsb-managementplane");
    assert.equal(plan.namespace, "tsb");
    assert.equal(plan.preflight, true);
    assert.deepEqual([plan.decision.step, plan.decision.values, plan.decision.issueLeaves], ["import", "verbatim", false]);
    assert.deepEqual(plan.importIds, { namespace: "tsb", release: "tsb/tsb-managementplane", floatingRecord: `Z0123456789_${FLOATING}_CNAME` });
    assert.ok(!("recordedSans" in plan));
    const a = planAdoption(config({ adopt: { release: "mp", floatingRecord: { type: "A" } } }), undefined)!;
    assert.deepEqual(a.importIds, { namespace: "tsb", release: "tsb/mp", floatingRecord: `Z0123456789_${FLOATING}_A` });
  });

  it("step import with Cloudflare imports the record as <zone>/<record id>", () => {
    const plan = planAdoption(config({ dns: { provider: "cloudflare", zoneId: CF_ZONE }, adopt: { floatingRecord: { type: "CNAME", id: CF_ID } } }), undefined)!;
    assert.equal(plan.importIds?.floatingRecord, `${CF_ZONE}/${CF_ID}`);
  });

  it("step import refuses chart values that would change an installed one, naming the paths and no value; it accepts them once activate runs", () => {
    const ldap = { spec: { identityProvider: { ldap: { host: "ldap.acme.example.com", port: 636 } } } };
    const refusal = (chart: Record<string, unknown>): string => {
      try {
        planAdoption(config({ chart }), undefined);
      } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.message;
      }
      assert.fail("accepted");
    };
    assert.equal(refusal({ values: ldap }), "tsb-ha:values = \"(not shown)\" would change the installed values of mp1 at spec.identityProvider.ldap.host, spec.identityProvider.ldap.port " +
      "in step import, which changes nothing. Fix: set them after the import, with tsb-ha:sites.mp1.adopt.step activate (one update each; docs/adopting.md)");
    const secret = refusal({ secretValues: { secrets: { oidc: { clientSecret: "rotated-client-secret-9" } } } });
    assert.match(secret, /^tsb-ha:secretValues = "\(not shown\)" would change the installed values of mp1 at secrets\.oidc\.clientSecret in step import/);
    assert.ok(!secret.includes("rotated-client-secret-9"));
    assert.match(refusal({ sites: { mp1: { context: "mp1", adopt: { release: "tsb-managementplane", step: "import", floatingRecord: { type: "CNAME" } }, values: { spec: { x: 1 } } } } }), /^tsb-ha:sites\.mp1\.values = .* at spec\.x in step import/);
    const many = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`k${String(i).padStart(2, "0")}`, i]));
    assert.match(refusal({ values: { spec: many } }), / at spec\.k00, .*, spec\.k11, and 2 more in step import/);
    // The same values as installed change nothing: a user may carry them over.
    assert.ok(planAdoption(config({ chart: { values: { spec: { tokenIssuer: idpValues.spec.tokenIssuer } }, secretValues: { secrets: { oidc: idpValues.secrets.oidc } } } }), undefined));
    assert.ok(planAdoption(config({ step: "activate", chart: { values: ldap } }), imported));
  });

  it("a rerun of step import runs the preflight again and keeps the import IDs (the engine skips a done import)", () => {
    const plan = planAdoption(config(), imported)!;
    assert.equal(plan.preflight, true);
    assert.deepEqual(plan.importIds, { namespace: "tsb", release: "tsb/tsb-managementplane", floatingRecord: `Z0123456789_${FLOATING}_CNAME` });
  });

  it("step activate after import: runs the preflight (it reads the live SANs), imports nothing", () => {
    const plan = planAdoption(config({ step: "activate" }), imported)!;
    assert.equal(plan.preflight, true);
    assert.deepEqual([plan.decision.step, plan.decision.values, plan.decision.issueLeaves], ["activate", "merged", true]);
    assert.ok(!("importIds" in plan));
    assert.ok(!("recordedSans" in plan));
  });

  it("step activate once done: no preflight, the SANs recorded at activation, also when a standby joins", () => {
    assert.deepEqual(activated.sites["mp1"]?.adoptSans, KEPT);
    for (const cfg of [config({ step: "activate" }), config({ step: "activate", sites: { mp2: { context: "mp2" } } })]) {
      const plan = planAdoption(cfg, activated)!;
      assert.equal(plan.preflight, false);
      assert.deepEqual(plan.recordedSans, KEPT);
      assert.ok(!("importIds" in plan));
    }
  });

  it("going back to import after activate (the back-out) imports again and keeps the recorded SANs", () => {
    const plan = planAdoption(config(), activated)!;
    assert.equal(plan.preflight, true);
    assert.ok(plan.importIds);
    assert.deepEqual(plan.recordedSans, KEPT);
  });

  it("passes on the step machine's refusals (skipped import, standby too early, trust bundle not rolled out)", () => {
    const named = (run: () => unknown, key: string, text: RegExp): void => {
      assert.throws(run, (e: unknown) => e instanceof ConfigError && e.message.startsWith(`tsb-ha:${key} `) && text.test(e.message));
    };
    named(() => planAdoption(config({ step: "activate" }), undefined), "sites.mp1.adopt.step", /skips the import step/);
    named(() => planAdoption(config({ step: "activate", sites: { mp2: {} } }), imported), "sites.mp1.adopt.step", /also adds mp2/);
    named(() => planAdoption(config({ sites: { mp2: {} } }), undefined), "sites.mp1.adopt.step", /imports mp1 in the update that also adds mp2/);
    // No CA key (route B): the control planes must trust the new root first.
    named(() => planAdoption(config({ step: "activate", keyPem: false }), imported), "sites.mp1.adopt.trustBundleRolledOut", /must be true/);
    assert.equal(planAdoption(config({ step: "activate", keyPem: false, adopt: { trustBundleRolledOut: true } }), imported)?.decision.step, "activate");
    assert.equal(planAdoption(config({ step: "activate" }), imported)?.decision.step, "activate", "with the CA key no rollout is needed");
  });

  it("while adopting, tsb.version and tsb.registry must be the installed ones; once activated they may move (an upgrade)", () => {
    const bumped = { version: "1.10.9" };
    const mirror = { registry: "mirror.acme.example.com/tsb" };
    for (const [step, history] of [["import", undefined], ["import", imported], ["activate", imported]] as const) {
      assert.throws(() => planAdoption(config({ step, tsb: bumped }), history), (e: unknown) => e instanceof ConfigError && /^tsb-ha:tsb\.version = "1\.10\.9" differs from the installed image\.tag/.test(e.message), `${step}`);
      assert.throws(() => planAdoption(config({ step, tsb: mirror }), history), (e: unknown) => e instanceof ConfigError && /^tsb-ha:tsb\.registry = .* differs from the installed image\.registry/.test(e.message), `${step}`);
    }
    assert.equal(planAdoption(config({ step: "activate", tsb: { ...bumped, ...mirror } }), activated)?.preflight, false);
    assert.equal(planAdoption(config({ step: "activate", tsb: bumped, sites: { mp2: {} } }), activated)?.decision.step, "activate");
  });
});

describe("valuesDriftRefusal", () => {
  it("says nothing when the release runs the given values, or when there is no release", () => {
    assert.equal(valuesDriftRefusal("mp1", structuredClone(idpValues), idpValues), undefined);
    assert.equal(valuesDriftRefusal("mp1", undefined, idpValues), undefined);
  });

  it("names the site and the paths that differ, never their values, and how to fix it", () => {
    const live = structuredClone(idpValues);
    live.secrets.tsb.adminPassword = "rotated-pw-do-not-print";
    live.spec.components.gitops.enabled = false;
    const r = valuesDriftRefusal("mp1", live, idpValues);
    assert.equal(r?.code, "values-drift");
    assert.match(r.message, /^mp1: adoptedValues differ from the values the release runs with, at secrets\.tsb\.adminPassword, spec\.components\.gitops\.enabled\. /);
    assert.match(r.message, /The import must change nothing: set adoptedValues again from helm get values <release> -n tsb -o yaml/);
    for (const value of ["rotated-pw-do-not-print", idpValues.secrets.tsb.adminPassword, "false", "true"]) assert.ok(!r.message.includes(value), value);
  });

  it("lists paths added and removed too", () => {
    const live: Record<string, unknown> = structuredClone(idpValues);
    delete live["image"];
    const r = valuesDriftRefusal("mp2", live, idpValues);
    assert.match(r?.message ?? "", /^mp2: .* at image\.registry, image\.tag\. /);
  });

  it("lists at most 12 paths, then how many more", () => {
    const tree = (n: number, v: number): Record<string, unknown> => ({ spec: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(2, "0")}`, v])) });
    const shown = (n: number): string => Array.from({ length: Math.min(n, 12) }, (_, i) => `spec.k${String(i).padStart(2, "0")}`).join(", ");
    const twelve = valuesDriftRefusal("mp1", tree(12, 1), tree(12, 2))!.message;
    assert.ok(twelve.includes(`at ${shown(12)}. The import`), twelve);
    assert.ok(!twelve.includes("more"));
    for (const [n, more] of [[13, 1], [14, 2], [40, 28]] as const) {
      const m = valuesDriftRefusal("mp1", tree(n, 1), tree(n, 2))!.message;
      assert.ok(m.includes(`at ${shown(n)}, and ${more} more. The import`), m);
      assert.ok(!m.includes("spec.k12"));
    }
  });
});

describe("adoptedSans and leafSpecsFor", () => {
  it("keeps each live leaf's SANs for its own leaf, with the permanent and floating names first", () => {
    const sans = adoptedSans(pem.liveTsb, pem.liveXcp, FQDN, FLOATING);
    // Tsb.Acme.Example.com is the floating name in other case: kept once.
    assert.deepEqual(sans.tsb, { dnsNames: [FQDN, FLOATING, "tsb-old.acme.example.com"], ipAddresses: ["10.0.0.7"], uris: [] });
    // Node prints an IPv6 SAN in full (FD00:0:0:0:0:0:0:8): the same address, compared in canonical form.
    const canonical = (ip: string): string => new URL(`http://${ip.includes(":") ? `[${ip}]` : ip}/`).hostname;
    assert.deepEqual({ ...sans.xcp, ipAddresses: sans.xcp.ipAddresses.map(canonical) }, {
      dnsNames: [FQDN, FLOATING, "central.xcp.tetrate.io", "xcp-old.acme.example.com"], ipAddresses: ["10.0.0.8", "[fd00::8]"], uris: ["spiffe://xcp.tetrate.io/central"],
    });
  });

  it("without kept SANs: exactly the leaves of a new set", () => {
    assert.deepEqual(leafSpecsFor(FQDN, FLOATING), siteCertSpecs(FQDN, FLOATING));
    assert.deepEqual(leafSpecsFor("mp2.acme.example.com", FLOATING, undefined), siteCertSpecs("mp2.acme.example.com", FLOATING));
  });

  it("with kept SANs: the new set's SANs plus every kept one, once (DNS without case), IPs and URIs as they are", () => {
    const kept: AdoptedSans = {
      tsb: { dnsNames: ["MP1.acme.example.com", "tsb-old.acme.example.com", "TSB-OLD.acme.example.com"], ipAddresses: ["10.0.0.7", "10.0.0.7", "fd00::7"], uris: ["spiffe://acme/tsb"] },
      xcp: { dnsNames: ["Central.XCP.tetrate.io", "xcp-old.acme.example.com"], ipAddresses: ["10.0.0.8"], uris: ["spiffe://xcp.tetrate.io/central", "spiffe://acme/xcp", "spiffe://acme/xcp"] },
    };
    const fresh = siteCertSpecs(FQDN, FLOATING);
    const specs = leafSpecsFor(FQDN, FLOATING, kept);
    assert.deepEqual(specs.tsb, { ...fresh.tsb, dnsNames: [FQDN, FLOATING, "tsb-old.acme.example.com"], ipAddresses: ["10.0.0.7", "fd00::7"], uris: ["spiffe://acme/tsb"] });
    assert.deepEqual(specs.xcp, { ...fresh.xcp, dnsNames: [...fresh.xcp.dnsNames, "xcp-old.acme.example.com"], ipAddresses: ["10.0.0.8"], uris: [...fresh.xcp.uris, "spiffe://acme/xcp"] });
  });
});

describe("adoptedSiteValues", () => {
  const PEM = { tsbCert: "<new tsb PEM>", tsbKey: "<new tsb key>", xcpCert: "<new xcp PEM>", xcpKey: "<new xcp key>", rootCa: "<adopted CA PEM>", adminPassword: "<not the installed one>" };
  const withStandby = config({ step: "activate", sites: { mp2: { context: "mp2" } } });
  const set = planSet(withStandby, activated);
  const site = (name: string, plan = set): SitePlan => plan.sites.find((s) => s.name === name)!;
  const tsb = withStandby.tsb;

  /** Independent of the module: dotted leaf paths of a tree. */
  const leaves = (v: unknown, p = ""): Map<string, unknown> => {
    const out = new Map<string, unknown>();
    if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, c] of Object.entries(v)) for (const [q, x] of leaves(c, p ? `${p}.${k}` : k)) out.set(q, x);
    } else out.set(p, v);
    return out;
  };
  const atPath = (v: unknown, p: string): unknown => p.split(".").reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], v);
  const CERT_PATHS = ["secrets.keep", "secrets.tsb.cert", "secrets.tsb.key", "secrets.xcp.autoGenerateCerts", "secrets.xcp.central.cert", "secrets.xcp.central.key", "secrets.xcp.rootca"];

  it("the adopted active keeps every installed key (CA key included), gets the active block and its new leaves", () => {
    const before = structuredClone(idpValues);
    const { values, changedPaths } = adoptedSiteValues(idpValues, site("mp1"), "mp1", tsb, PEM);
    assert.deepEqual(idpValues, before, "the installed values are not modified");
    assert.deepEqual(atPath(values, "spec.highAvailability"), highAvailabilityBlock(site("mp1"), 8443));
    assert.deepEqual(atPath(values, "secrets.tsb"), { adminPassword: idpValues.secrets.tsb.adminPassword, cert: PEM.tsbCert, key: PEM.tsbKey });
    assert.deepEqual(atPath(values, "secrets.xcp"), { autoGenerateCerts: false, central: { cert: PEM.xcpCert, key: PEM.xcpKey }, rootca: PEM.rootCa, rootcakey: idpValues.secrets.xcp.rootcakey });
    for (const [p, v] of leaves(idpValues)) {
      if (!CERT_PATHS.includes(p) && !p.startsWith("spec.highAvailability")) assert.deepEqual(atPath(values, p), v, p);
    }
    assert.deepEqual(changedPaths, [
      "secrets.keep", "secrets.tsb.cert", "secrets.tsb.key", "secrets.xcp.central.cert", "secrets.xcp.central.key", "secrets.xcp.rootca",
      "spec.highAvailability.active.exposeEmbeddedPostgresInFrontEnvoy",
      "spec.highAvailability.standby.activeMpSynchronizationEndpoint.host", "spec.highAvailability.standby.activeMpSynchronizationEndpoint.port",
      "spec.highAvailability.standby.activeMpSynchronizationEndpoint.selfSigned",
    ]);
  });

  it("another site starts from the installed values without the adopted leaves and CA key, with its own leaves and block", () => {
    const { values, changedPaths } = adoptedSiteValues(idpValues, site("mp2"), "mp1", tsb, PEM);
    assert.deepEqual(atPath(values, "spec.highAvailability"), highAvailabilityBlock(site("mp2"), 8443));
    assert.equal(atPath(values, "spec.highAvailability.standby.activeMpSynchronizationEndpoint.host"), FQDN);
    assert.deepEqual(atPath(values, "secrets.xcp"), { autoGenerateCerts: false, central: { cert: PEM.xcpCert, key: PEM.xcpKey }, rootca: PEM.rootCa });
    assert.equal(atPath(values, "secrets.tsb.adminPassword"), idpValues.secrets.tsb.adminPassword, "TSB's login stays the installed one");
    assert.deepEqual(atPath(values, "spec.tokenIssuer"), idpValues.spec.tokenIssuer);
    assert.deepEqual(atPath(values, "secrets.oidc"), idpValues.secrets.oidc);
    assert.ok(changedPaths.includes("secrets.xcp.rootcakey"));
    assert.ok(changedPaths.includes("spec.highAvailability.standby.activeMpSynchronizationEndpoint.host"));
  });

  it("after a failover the block follows the role: the new active gets the active block, still without the CA key", () => {
    const withMp2 = update(withStandby, activated).history;
    const flipped = planSet(config({ step: "activate", activeSite: "mp2", sites: { mp1: { state: "fenced", adopt: { release: "tsb-managementplane", step: "activate", floatingRecord: { type: "CNAME" } } }, mp2: {} } }), withMp2);
    const mp2 = adoptedSiteValues(idpValues, site("mp2", flipped), "mp1", tsb, PEM).values;
    assert.deepEqual(atPath(mp2, "spec.highAvailability"), { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
    assert.equal(atPath(mp2, "secrets.xcp.rootcakey"), undefined);
    const mp1 = adoptedSiteValues(idpValues, site("mp1", flipped), "mp1", tsb, PEM).values;
    assert.equal(atPath(mp1, "secrets.xcp.rootcakey"), idpValues.secrets.xcp.rootcakey, "the fenced adopted site keeps its own");
  });

  it("puts the user's values over the installed ones and under the program's, on every site", () => {
    const user = {
      spec: { identityProvider: { oidc: { clientId: "<new-client-id>" } }, telemetryStore: { elastic: { host: "es.acme.example.com", port: 9200 } } },
      secrets: { oidc: { clientSecret: "<rotated>" }, elasticsearch: { username: "tsb", password: "<es>" } },
    };
    for (const name of ["mp1", "mp2"]) {
      const { values, changedPaths } = adoptedSiteValues(idpValues, site(name), "mp1", tsb, PEM, user);
      assert.equal(atPath(values, "spec.identityProvider.oidc.clientId"), "<new-client-id>", name);
      assert.deepEqual(atPath(values, "spec.identityProvider.oidc.scopes"), idpValues.spec.identityProvider.oidc.scopes, `${name}: the rest of the installed block stays`);
      assert.equal(atPath(values, "secrets.oidc.clientSecret"), "<rotated>");
      assert.deepEqual(atPath(values, "secrets.elasticsearch"), { username: "tsb", password: "<es>" });
      assert.deepEqual(atPath(values, "spec.highAvailability"), highAvailabilityBlock(site(name), 8443), "the program's block over everything");
      assert.equal(atPath(values, "secrets.tsb.cert"), PEM.tsbCert);
      for (const p of ["spec.identityProvider.oidc.clientId", "spec.telemetryStore.elastic.host", "secrets.oidc.clientSecret", "secrets.elasticsearch.password"]) {
        assert.ok(changedPaths.includes(p), `${name}: ${p} is a change against the installed values`);
      }
    }
    assert.deepEqual(adoptedSiteValues(idpValues, site("mp2"), "mp1", tsb, PEM, {}), adoptedSiteValues(idpValues, site("mp2"), "mp1", tsb, PEM));
  });

  it("image.tag, image.registry and spec.hub follow tsb.* where the install set them, on every site", () => {
    const bumped = { ...tsb, version: "1.10.1", registry: "mirror.acme.example.com/tsb" };
    for (const name of ["mp1", "mp2"]) {
      const { values, changedPaths } = adoptedSiteValues(idpValues, site(name), "mp1", bumped, PEM);
      assert.deepEqual(values["image"], { registry: "mirror.acme.example.com/tsb", tag: "1.10.1" }, name);
      assert.ok(changedPaths.includes("image.tag") && changedPaths.includes("image.registry"), `${name}: relative to the installed values`);
      assert.equal(atPath(values, "spec.hub"), "mirror.acme.example.com/tsb", "spec.hub follows the registry");
      assert.ok(changedPaths.includes("spec.hub"));
    }
    const same = adoptedSiteValues(idpValues, site("mp1"), "mp1", tsb, PEM).changedPaths;
    assert.ok(!same.some((p) => p.startsWith("image")), "no change at adoption");
    const onlyTag = { ...sandboxValues, image: { tag: "1.9.0" } };
    assert.deepEqual(adoptedSiteValues(onlyTag, site("mp1"), "mp1", bumped, PEM).values["image"], { tag: "1.10.1" });
    const onlyRegistry = { ...sandboxValues, image: { registry: "registry.example.com/tsb", pullPolicy: "Always" } };
    assert.deepEqual(adoptedSiteValues(onlyRegistry, site("mp2"), "mp1", bumped, PEM).values["image"], { registry: "mirror.acme.example.com/tsb", pullPolicy: "Always" });
  });

  it("adds no spec.hub where the install set none, and survives a spec that is missing or not a map", () => {
    const noHub: Record<string, unknown> = structuredClone(sandboxValues);
    delete (noHub["spec"] as Record<string, unknown>)["hub"];
    const r = adoptedSiteValues(noHub, site("mp2"), "mp1", { ...tsb, registry: "mirror.acme.example.com/tsb" }, PEM);
    assert.ok(!("hub" in (r.values["spec"] as Record<string, unknown>)));
    assert.ok(!r.changedPaths.includes("spec.hub"));
    for (const spec of [undefined, null, "spec", ["hub"]]) {
      const v: Record<string, unknown> = { ...structuredClone(sandboxValues), spec };
      if (spec === undefined) delete v["spec"];
      const out = adoptedSiteValues(v, site("mp2"), "mp1", tsb, PEM).values["spec"] as Record<string, unknown>;
      assert.ok(!("hub" in out), JSON.stringify(spec));
      assert.ok("highAvailability" in out, JSON.stringify(spec));
    }
  });

  it("adds no image where the install set none, and leaves an image that is not a map alone", () => {
    const noImage: Record<string, unknown> = structuredClone(sandboxValues);
    delete noImage["image"];
    for (const name of ["mp1", "mp2"]) {
      const r = adoptedSiteValues(noImage, site(name), "mp1", tsb, PEM);
      assert.ok(!("image" in r.values), name);
      assert.ok(!r.changedPaths.some((p) => p.startsWith("image")));
      for (const image of [null, ["x"], "registry.example.com/tsb:1.9.0"]) {
        assert.deepEqual(adoptedSiteValues({ ...noImage, image }, site(name), "mp1", tsb, PEM).values["image"], image);
      }
    }
  });
});
