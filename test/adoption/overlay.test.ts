// The adoption overlay: what adopting a hand-installed MP changes in each phase of index.ts (its PKI,
// admin password, releases, the active's proof, the floating record, the outputs), and that a new set
// gets none of it. Configs go through parseConfig and plans through planAdoption, as index.ts does.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseConfig, type SetConfig } from "../../lib/config/config";
import { planAdoption } from "../../lib/adoption/plan";
import { adoptionOverlay } from "../../lib/adoption/overlay";
import { planSet, type AdoptedSans, type SetHistory } from "../../lib/plan/topology";
import { baseConfig } from "../fixtures";
import { idpValues } from "../fixtures/adoptionValues";

// The adopted CA (its key matches: parseConfig checks it), made by openssl.
let dir = "";
const ca = { cert: "", key: "" };
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), "adoption-overlay-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
    "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=Acme root", "-addext", "basicConstraints=critical,CA:TRUE"], { cwd: dir, stdio: "pipe" });
  ca.cert = readFileSync(path.join(dir, "ca.crt"), "utf8");
  ca.key = readFileSync(path.join(dir, "ca.key"), "utf8");
});
after(() => rmSync(dir, { recursive: true, force: true }));

const FLOATING = "tsb.acme.example.com";
const IDP_TSB = { version: idpValues.image.tag, registry: idpValues.image.registry, organization: idpValues.spec.organization, frontEnvoyPort: idpValues.spec.components.frontEnvoy.port };
const SECRET_KEYS = new Set(["standbyServiceAccountJwk", "adoptedValues", "adoptedCa"]);
const raw = (settings: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));

/** mp1 adopts the idp install (release tsb-managementplane); `withKey: false` is the trust-bundle route. */
function adoptingConfig(step: "import" | "activate", opts: { withKey?: boolean; sites?: Record<string, unknown> } = {}): SetConfig {
  const adopt = { release: "tsb-managementplane", step, floatingRecord: { type: "CNAME" }, ...(opts.withKey === false ? { trustBundleRolledOut: true } : {}) };
  return parseConfig(raw(baseConfig({
    domain: "acme.example.com",
    floatingFqdn: FLOATING,
    sites: { mp1: { context: "mp1", adopt }, ...opts.sites },
    tsb: IDP_TSB,
    adoptedValues: JSON.stringify(idpValues),
    adoptedCa: JSON.stringify({ certPem: ca.cert, ...(opts.withKey === false ? {} : { keyPem: ca.key }) }),
  })), SECRET_KEYS).config;
}

const KEPT: AdoptedSans = {
  tsb: { dnsNames: ["mp1.acme.example.com", FLOATING, "tsb-old.acme.example.com"], ipAddresses: ["10.0.0.7"], uris: [] },
  xcp: { dnsNames: ["mp1.acme.example.com", FLOATING], ipAddresses: [], uris: ["spiffe://xcp.tetrate.io/central"] },
};

/** The history after a step succeeded, as index.ts records it: the step reached, the SANs the preflight read. */
function historyAfter(step: "import" | "activate", withSans = true): SetHistory {
  const history = planSet(adoptingConfig(step)).history;
  history.sites["mp1"]!.adoptStep = step;
  if (withSans) history.sites["mp1"]!.adoptSans = KEPT;
  return history;
}

const ROOT = "-----BEGIN CERTIFICATE-----\nTHE SET'S NEW ROOT\n-----END CERTIFICATE-----";

describe("adoptionOverlay", () => {
  it("a new set: nothing kept or imported, every proof made, no adoption output", () => {
    const cfg = parseConfig(raw(baseConfig()), new Set(["standbyServiceAccountJwk"])).config;
    const overlay = adoptionOverlay(cfg, planAdoption(cfg, undefined), undefined);
    assert.deepEqual(Object.keys(overlay).sort(), ["pki", "proveActiveServes", "release", "reportChangedValues"]);
    assert.deepEqual(overlay.pki, {});
    assert.deepEqual(overlay.release("mp1"), {});
    assert.deepEqual(overlay.release("mp2"), {});
    assert.equal(overlay.proveActiveServes, true);
    assert.equal(overlay.reportChangedValues, false);
  });

  it("step import: the adopted release and the floating record are imported as they run; no leaves, no proof; the admin password kept", () => {
    const cfg = adoptingConfig("import");
    const adoption = planAdoption(cfg, undefined)!;
    const overlay = adoptionOverlay(cfg, adoption, KEPT);
    // The adopted CA signs (its key is a secret: index.ts wraps it); the live leaves stay this update.
    assert.deepEqual(overlay.pki, { ca: { certPem: ca.cert, keyPem: ca.key }, skip: ["mp1"], kept: { mp1: KEPT } });
    assert.equal(overlay.keptAdminPassword, idpValues.secrets.tsb.adminPassword);
    assert.deepEqual(overlay.release("mp1"), {
      installed: { values: cfg.adoption!.values, adoptedSite: "mp1" },
      adopted: { release: "tsb-managementplane", namespace: "tsb", verbatim: true, importIds: { namespace: "tsb", release: "tsb/tsb-managementplane" } },
    });
    assert.equal(overlay.proveActiveServes, false);
    assert.equal(overlay.reportChangedValues, true);
    assert.equal(overlay.keepLiveRecord, `Z0123456789_${FLOATING}_CNAME`);
    assert.deepEqual(overlay.adoption, { site: "mp1", step: "import" });
    // Route A: the control planes already trust the adopted CA; nothing to roll out.
    assert.equal(overlay.controlPlaneCa, undefined);
    assert.equal(overlay.trustBundle, undefined);
  });

  it("step activate: the adopted site gets new leaves with its recorded SANs, its release is merged and proven, the record moves", () => {
    const cfg = adoptingConfig("activate");
    const adoption = planAdoption(cfg, historyAfter("import"))!;
    const overlay = adoptionOverlay(cfg, adoption, adoption.recordedSans);
    assert.deepEqual(overlay.pki, { ca: { certPem: ca.cert, keyPem: ca.key }, kept: { mp1: KEPT } });
    assert.deepEqual(overlay.release("mp1"), {
      installed: { values: cfg.adoption!.values, adoptedSite: "mp1" },
      adopted: { release: "tsb-managementplane", namespace: "tsb", verbatim: false },
    });
    assert.equal(overlay.proveActiveServes, true);
    assert.ok(!("keepLiveRecord" in overlay));
    assert.deepEqual(overlay.adoption, { site: "mp1", step: "activate" });
    // The step's preflight runs until its history says it succeeded: the values it changes are reported.
    assert.equal(overlay.reportChangedValues, true);
  });

  it("after activate: a standby starts from the installed values too and is no adopted release; nothing is reported again", () => {
    const cfg = adoptingConfig("activate", { sites: { mp2: { context: "mp2" } } });
    const overlay = adoptionOverlay(cfg, planAdoption(cfg, historyAfter("activate")), KEPT);
    assert.deepEqual(overlay.release("mp2"), { installed: { values: cfg.adoption!.values, adoptedSite: "mp1" } });
    assert.equal(overlay.release("mp1").adopted?.verbatim, false);
    assert.equal(overlay.reportChangedValues, false);
    assert.equal(overlay.proveActiveServes, true);
  });

  it("no SANs known yet: the adopted site's leaves keep none", () => {
    const cfg = adoptingConfig("activate");
    const overlay = adoptionOverlay(cfg, planAdoption(cfg, historyAfter("import", false)), undefined);
    assert.deepEqual(overlay.pki, { ca: { certPem: ca.cert, keyPem: ca.key } });
  });

  it("the trust-bundle route (adopted CA without its key): a new root, control planes trust old + new, and the bundle is an output", () => {
    const cfg = adoptingConfig("activate", { withKey: false });
    const overlay = adoptionOverlay(cfg, planAdoption(cfg, historyAfter("import")), KEPT);
    assert.deepEqual(overlay.pki, { kept: { mp1: KEPT } });
    const bundle = `${ca.cert.trim()}\n${ROOT}\n`;
    assert.equal(overlay.controlPlaneCa?.(`\n${ROOT}\n\n`), bundle);
    // What the control planes must roll out is that same bundle, at every CA value they read.
    assert.deepEqual(overlay.trustBundle?.(`${ROOT}\n`), { secrets: { tsb: { cacert: bundle }, xcp: { rootca: bundle }, elasticsearch: { cacert: bundle } } });
  });

  it("adoption secrets without an adoption plan give the releases and outputs nothing of an adoption", () => {
    // parseConfig never returns this pair; the overlay still asks the plan before it keeps or outputs anything.
    const cfg = adoptingConfig("activate", { withKey: false });
    const overlay = adoptionOverlay(cfg, undefined, KEPT);
    assert.deepEqual(overlay.release("mp1"), {});
    assert.deepEqual(overlay.pki, {});
    assert.equal(overlay.adoption, undefined);
    assert.equal(overlay.trustBundle, undefined);
    assert.equal(overlay.keptAdminPassword, idpValues.secrets.tsb.adminPassword);
    assert.equal(typeof overlay.controlPlaneCa, "function");
  });
});
