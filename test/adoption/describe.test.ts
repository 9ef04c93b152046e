// The preview's adoption lines: what this update does and the next step, per step and CA route.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describeAdoption } from "../../lib/adoption/describe";
import type { AdoptionPlan } from "../../lib/adoption/plan";
import type { SetConfig } from "../../lib/config/config";

const cfg = (keyPem: string | undefined): SetConfig => ({
  activeSite: "mp1", domain: "acme.example.com", floatingFqdn: "tsb.acme.example.com",
  sites: [{ name: "mp1", fqdn: "mp1.acme.example.com", state: "standby", rebuild: 0,
    adopt: { release: "tsb-managementplane", namespace: "tsb", step: "import", floatingRecord: { type: "A" } } }],
  dns: { provider: "route53", zoneId: "Z1", ttl: 30, siteRecords: "external" },
  tsb: { version: "1.10.0", registry: "r", organization: "acme", chartRepo: "https://x", frontEnvoyPort: 443, readyTimeoutSeconds: 600,
    verifyApi: true, standbyRole: "rbac/org-reader", apiTimeoutSeconds: 30, fenceTimeoutSeconds: 120, addressTimeoutSeconds: 600 },
  replication: { catchUpTimeoutSeconds: 120, maxLostContactSeconds: 300, followTimeoutSeconds: 300 },
  adoption: { values: {}, ca: { certPem: "ca", ...(keyPem ? { keyPem } : {}) }, adminPassword: "pw" },
  chartValues: [],
});
const plan = (step: "import" | "activate", over: Partial<AdoptionPlan> = {}): AdoptionPlan => ({
  site: "mp1", release: "tsb-managementplane", namespace: "tsb", preflight: true,
  decision: { site: "mp1", step, values: step === "import" ? "verbatim" : "merged", issueLeaves: step === "activate", historyStep: step },
  ...(step === "import" ? { importIds: { namespace: "tsb", release: "tsb/tsb-managementplane", floatingRecord: "Z1_tsb.acme.example.com_A" } } : {}),
  ...over,
});

describe("describeAdoption", () => {
  it("step import names what is imported, the update that follows the release's import, the clear-text state until it finished, and the next step (CA key given)", () => {
    const [what, expected, clear, next] = describeAdoption(plan("import"), cfg("key"));
    assert.match(what!, /^Adopting mp1, step import: imports Namespace tsb, Release tsb\/tsb-managementplane \(the installed values and chart 1\.10\.0\) and the floating record tsb\.acme\.example\.com \(A\)/);
    assert.match(expected!, /^Expected: 3 imports\. The release's import is followed, in this same update, by one update of it \(Pulumi 3\.174 and newer, pulumi\/pulumi#19339\): a helm upgrade with the installed chart version and values that adds repositoryOpts and timeout/);
    assert.match(clear!, /^Until that update has finished, the stack's state holds the imported values \(admin password, certificate keys\) without secret markers: if it fails, run pulumi up again until it succeeds/);
    assert.match(next!, /set tsb-ha:sites\.mp1\.adopt\.step activate .*after mp1\.acme\.example\.com resolves/);
  });

  it("says what it does not know instead of guessing: a site or adoption missing from the config", () => {
    const noSite = { ...cfg("key"), sites: [] };
    const [what, , , next] = describeAdoption(plan("import"), noSite);
    assert.match(what!, /the floating record tsb\.acme\.example\.com \(\?\) as it is live/);
    assert.match(next!, /activate \(one update\), after the new permanent name resolves/);
    assert.match(describeAdoption(plan("activate"), noSite)[0]!, /once mp1 serves, the floating record tsb\.acme\.example\.com \(\?\) becomes/);
    const noAdoption = cfg("key");
    delete noAdoption.adoption;
    assert.match(describeAdoption(plan("import"), noAdoption)[3]!, /adoptionTrustBundle/, "no CA key known: the bundle route");
  });

  it("without the CA key, the next step is the trust bundle roll-out", () => {
    const next = describeAdoption(plan("import"), cfg(undefined))[3]!;
    assert.match(next, /adoptionTrustBundle .*trustBundleRolledOut true and tsb-ha:sites\.mp1\.adopt\.step activate/);
  });

  it("step activate names the CA, the record's move and the TTL; once done it says nothing", () => {
    const [what, next] = describeAdoption(plan("activate"), cfg("key"));
    assert.match(what!, /new leaves from the adopted CA .*floating record tsb\.acme\.example\.com \(A\) becomes a CNAME to it, in place, TTL 30/);
    assert.match(next!, /add the standby sites/);
    assert.match(describeAdoption(plan("activate"), cfg(undefined))[0]!, /from the new root/);
    assert.deepEqual(describeAdoption(plan("activate", { preflight: false }), cfg("key")), []);
  });
});
