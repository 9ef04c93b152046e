// Issue 13 at the program level: a hand-installed management plane (a stand-in Kubernetes API over
// HTTPS, seeded as Helm and TSB leave it: test/harness/adoptedCluster.ts) is adopted in reviewed steps by
// one stack: import -> activate -> add a standby. The program's preflight reads the stand-in API for real;
// the engine's side is the mock (test/harness/mockState.ts, engine.ts) answering imports as the engine
// and the providers do:
// - helm Release import (pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go Read ->
//   setReleaseAttributes + importRelease + serializeImportInputs + setDefaults): name, namespace,
//   chart = the chart's bare name when no local helm repository knows it, values = the release's stored
//   user values (r.Config), version = the installed chart version, timeout = 300. No repository.
// - Namespace import (provider/pkg/provider/provider.go Read, readFromCluster): the live object's input
//   properties without server fields: apiVersion, kind, metadata (labels and annotations), spec.
// - Route53 record import (terraform-provider-aws internal/service/route53/record.go; ID
//   <zone>_<name>_<type>): zoneId, name, type, ttl, records as they are live.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { Stack, changes, engineDiff, importUpdates } from "./harness/engine";
import { find, has, isSecretValue, reveal, type ChildOutput } from "./harness/runProgram";
import { FakeKubeApi } from "./harness/fakeKubeApi";
import { seedAdoptedCluster, type AdoptedCluster, type AdoptedClusterOptions } from "./harness/adoptedCluster";
import { sansOf, pemCertificates } from "../lib/adoption/decide";
import { leafPaths, type Values } from "../lib/config/helmValues";
import { policyResources, remediate, stackArgs, validate } from "./harness/policyResources";
import { allPolicies, secretsStaySecret } from "../policy/policies";
import type { StackValidationPolicy } from "@pulumi/policy";

const ZONE = "Z0123456789";
const LIVE_FLOATING_IP = "203.0.113.10";
const PERMANENT = "mp1.acme.example.com";
const UPGRADE = "1.10.1";

function config(c: AdoptedCluster, api: FakeKubeApi, opts: { step: string; sites?: Record<string, unknown>; values?: string; ca?: Record<string, string>; rolled?: boolean; version?: string; port?: number }): Record<string, unknown> {
  const adopt = { release: c.release, step: opts.step, floatingRecord: { type: "A" }, ...(opts.rolled ? { trustBundleRolledOut: true } : {}) };
  return {
    activeSite: "mp1",
    domain: "acme.example.com",
    floatingFqdn: c.floatingFqdn,
    sites: { mp1: { fqdn: PERMANENT, kubeconfig: api.kubeconfigPath, context: api.context, adopt }, ...(opts.sites ?? {}) },
    dns: { provider: "route53", zoneId: ZONE, ttl: 60 },
    tsb: { version: opts.version ?? c.chartVersion, registry: (c.values["image"] as Values)["registry"], organization: c.organization, ...(opts.port ? { frontEnvoyPort: opts.port } : {}) },
    adoptedValues: opts.values ?? c.valuesYaml,
    adoptedCa: opts.ca ?? { certPem: c.caCertPem, keyPem: c.caKeyPem },
  };
}

/** What the providers read back for each importable object (see the header for the sources). */
function importable(c: AdoptedCluster): Record<string, Record<string, unknown>> {
  return {
    [`kubernetes:helm.sh/v3:Release ${c.namespace}/${c.release}`]: { name: c.release, namespace: c.namespace, chart: "managementplane", values: c.values, version: c.chartVersion, timeout: 300 },
    [`kubernetes:core/v1:Namespace ${c.namespace}`]: {
      apiVersion: "v1", kind: "Namespace",
      metadata: { name: c.namespace, labels: { "kubernetes.io/metadata.name": c.namespace } },
      spec: { finalizers: ["kubernetes"] },
    },
    [`aws:route53/record:Record ${ZONE}_${c.floatingFqdn}_A`]: { zoneId: ZONE, name: c.floatingFqdn, type: "A", ttl: 300, records: [LIVE_FLOATING_IP] },
  };
}

/** A stack for an adopting set. */
const adoptingStack = (): Stack => new Stack({ tls: "openssl", secretKeys: ["adoptedValues", "adoptedCa"] });

/** A stand-in Kubernetes API seeded with a hand-installed MP, and what its imports read. */
async function seededCluster(opts: AdoptedClusterOptions = {}): Promise<{ api: FakeKubeApi; c: AdoptedCluster; extra: { importable: ReturnType<typeof importable> } }> {
  const api = await FakeKubeApi.start({ context: "mp1" });
  const c = seedAdoptedCluster(api, opts);
  return { api, c, extra: { importable: importable(c) } };
}

const releaseValues = (run: ChildOutput, site: string): Values => (reveal(find(run, `${site}-managementplane`).inputs) as { values: Values }).values;
const customs = (run: ChildOutput) => run.registrations.filter((r) => r.kind === "register" && r.custom);

/** `openssl verify` of a leaf against a CA file: the check a control plane's TLS makes. */
function opensslVerifies(caPem: string, leafPem: string): boolean {
  const dir = mkdtempSync(path.join(tmpdir(), "adopt-verify-"));
  try {
    writeFileSync(path.join(dir, "ca.pem"), caPem);
    writeFileSync(path.join(dir, "leaf.pem"), leafPem);
    execFileSync("openssl", ["verify", "-CAfile", path.join(dir, "ca.pem"), path.join(dir, "leaf.pem")], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("adopting a hand-installed management plane (route A: the CA's key is given)", () => {
  let api: FakeKubeApi;
  let c: AdoptedCluster;
  const stack = new Stack({ tls: "openssl", secretKeys: ["adoptedValues", "adoptedCa"] });
  const runs: Record<string, ChildOutput> = {};
  const imported = new Stack();
  let lostDiff: ReturnType<typeof engineDiff> | undefined;

  before(async () => {
    api = await FakeKubeApi.start({ context: "mp1" });
    c = seedAdoptedCluster(api);
    const extra = { importable: importable(c) };
    runs["preview import"] = await new Stack({ tls: "openssl", secretKeys: ["adoptedValues", "adoptedCa"] }).up("preview", config(c, api, { step: "import" }), { ...extra, preview: true });
    runs["import"] = await stack.up("import", config(c, api, { step: "import" }), extra);
    imported.outputs = structuredClone(stack.outputs);
    runs["import again"] = await stack.up("import again", config(c, api, { step: "import" }), extra);
    runs["activate"] = await stack.up("activate", config(c, api, { step: "activate" }), extra);
    runs["activate again"] = await stack.up("activate again", config(c, api, { step: "activate" }), extra);
    runs["add mp2"] = await stack.up("add mp2", config(c, api, { step: "activate", sites: { mp2: { context: "mp2" } } }), extra);
    // A fork of the stack at this point: mp1's cluster is gone, and the set fails over to mp2 without it.
    const lost = new Stack({ tls: "openssl", secretKeys: ["adoptedValues", "adoptedCa"] });
    Object.assign(lost, structuredClone({ outputs: stack.outputs, last: stack.last, clusters: stack.clusters }));
    const lostCfg = config(c, api, { step: "activate", sites: { mp2: { context: "mp2" } } });
    lostCfg["activeSite"] = "mp2";
    ((lostCfg["sites"] as Values)["mp1"] as Values)["state"] = "lost";
    runs["lose mp1"] = await lost.up("lose mp1, fail over to mp2", lostCfg, { ...extra, unreachableSites: ["mp1"] });
    lostDiff = lost.log[0]!.diff;
    runs["upgrade"] = await stack.up("upgrade", config(c, api, { step: "activate", sites: { mp2: { context: "mp2" } }, version: UPGRADE }), extra);
    const failover = config(c, api, { step: "activate", sites: { mp2: { context: "mp2" } }, version: UPGRADE });
    failover["activeSite"] = "mp2";
    ((failover["sites"] as Values)["mp1"] as Values)["state"] = "fenced";
    runs["fail over to mp2"] = await stack.up("fail over to mp2", failover, extra);
    console.log(stack.log.map((l) => `${l.step}: ${changes(l.diff)} changes (${Object.keys(l.diff.imported ?? {}).length} imported, ${l.diff.created.length} created, ${l.diff.updated.length} updated, ${l.diff.replaced.length} replaced)`).join("\n"));
  });
  after(async () => { await api.close(); });

  it("runs every step without an error, the preview too", () => {
    assert.deepEqual(runs["preview import"]!.errors, []);
    for (const l of stack.log) assert.deepEqual(l.errors, [], l.step);
  });

  it("step import: imports the namespace, the release <namespace>/<name> and the floating record, protected", () => {
    const run = runs["import"]!;
    assert.equal(find(run, "mp1-namespace").importId, c.namespace);
    assert.equal(find(run, "mp1-managementplane").importId, `${c.namespace}/${c.release}`);
    assert.equal(find(run, "floating-record").importId, `${ZONE}_${c.floatingFqdn}_A`);
    for (const name of ["mp1-namespace", "mp1-managementplane", "floating-record"]) assert.ok(find(run, name).protect, `${name} is protected`);
    assert.deepEqual(Object.keys(stack.log[0]!.diff.imported ?? {}).sort(), ["floating-record", "mp1-managementplane", "mp1-namespace"]);
  });

  it("step import: the release keeps the installed name, version and values verbatim; only the repository differs", () => {
    const release = find(runs["import"]!, "mp1-managementplane");
    const inputs = reveal(release.inputs) as Record<string, unknown>;
    assert.equal(inputs["name"], c.release, "the installed release name, never the program's default");
    assert.equal(inputs["version"], c.chartVersion);
    assert.deepEqual(inputs["values"], c.values, "the values helm get values printed, every key");
    // Since Pulumi 3.174 the import is followed by an update in the same `pulumi up` (pulumi/pulumi#19339):
    // one helm upgrade that adds the repository, bounded as every other release's.
    assert.deepEqual(importUpdates(release), ["repositoryOpts", "timeout"], "Helm stores no repository: the update the import makes");
    assert.equal(inputs["timeout"], (reveal(find(runs["add mp2"]!, "mp2-managementplane").inputs) as Record<string, unknown>)["timeout"], "the same timeout as other releases");
    assert.ok(runs["import"]!.infos.some((l) => l.startsWith("Until that update has finished, the stack's state holds the imported values")), "the preview warns about clear text in state");
    assert.ok(release.additionalSecretOutputs.includes("values"), "imported values are secret in state");
    assert.ok(isSecretValue((release.inputs as Record<string, unknown>)["values"]), "values sent as a secret");
  });

  it("step import: the floating record and the namespace stay exactly as they are live", () => {
    assert.deepEqual(stack.log[0]!.diff.imported?.["floating-record"], []);
    assert.deepEqual(stack.log[0]!.diff.imported?.["mp1-namespace"], []);
  });

  it("step import: no root CA, no leaf, no gate and no other stateful resource is registered", () => {
    const run = runs["import"]!;
    assert.deepEqual(run.registrations.filter((r) => r.type.startsWith("tls:")).map((r) => r.name), []);
    assert.deepEqual(run.registrations.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.name), []);
    const others = customs(run).filter((r) => !r.importId && !r.type.startsWith("pulumi:providers:")).map((r) => r.type);
    assert.deepEqual(others, ["time:index/sleep:Sleep"], "only the propagation timer, which holds no state");
  });

  it("step import again changes nothing; the history records the step", () => {
    assert.equal(changes(stack.log[1]!.diff), 0, JSON.stringify(stack.log[1]!.diff));
    assert.equal(stack.log[1]!.diff.imported, undefined, "the same import ID is in state: the engine does not import again");
    assert.ok(runs["import again"]!.infos.some((l) => /^Adopting mp1, step import: imports Namespace tsb, Release tsb\/tsb-managementplane/.test(l)));
    assert.ok(runs["import"]!.infos.some((l) => l.includes("Next: set tsb-ha:sites.mp1.adopt.step activate")));
  });

  it("a back-out of step import (the three deleted from state) can import again in the same stack", async () => {
    const backedOut = new Stack({ tls: "openssl", secretKeys: ["adoptedValues", "adoptedCa"] });
    backedOut.outputs = structuredClone(imported.outputs);
    const run = await backedOut.up("import after back-out", config(c, api, { step: "import" }), { importable: importable(c) });
    assert.deepEqual(run.errors, []);
    assert.deepEqual(Object.keys(backedOut.log[0]!.diff.imported ?? {}).sort(), ["floating-record", "mp1-managementplane", "mp1-namespace"]);
  });

  it("step activate: every installed key stays; only certificates, keep and the HA block change", () => {
    const values = releaseValues(runs["activate"]!, "mp1");
    const before = leafPaths(c.values);
    const now = leafPaths(values);
    const allowed = /^(secrets\.keep|secrets\.tsb\.(cert|key)|secrets\.xcp\.(central\.(cert|key)|rootca|autoGenerateCerts)|spec\.highAvailability\..*)$/;
    for (const [p, v] of before) {
      if (allowed.test(p)) continue;
      assert.ok(now.has(p), `installed key ${p} kept`);
      assert.deepEqual(now.get(p), v, `installed value at ${p} unchanged`);
    }
    for (const p of now.keys()) if (!before.has(p)) assert.match(p, allowed, `only expected keys are added (${p})`);
    assert.deepEqual((values["spec"] as Values)["highAvailability"], { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
    assert.ok(runs["activate"]!.infos.some((l) => /^mp1: values differ from the installed ones at .*spec\.highAvailability/.test(l)), "the preview names the changed paths");
    assert.ok(!runs["activate"]!.infos.some((l) => c.secretTexts.some((s) => l.includes(s))), "never a value");
    assert.ok(stack.log[2]!.diff.updated.includes("mp1-managementplane") && !stack.log[2]!.diff.replaced.includes("mp1-managementplane"));
  });

  it("step activate: new leaves are signed by the given CA (openssl verify) and keep every live SAN", () => {
    const run = runs["activate"]!;
    const tsbCert = (find(run, "mp1-tsb-cert").state as { certPem: string }).certPem;
    const xcpCert = (find(run, "mp1-xcp-central-cert").state as { certPem: string }).certPem;
    assert.ok(opensslVerifies(c.caCertPem, tsbCert), "tsb-certs chains to the CA the control planes trust");
    assert.ok(opensslVerifies(c.caCertPem, xcpCert), "xcp-central-cert too");
    const live = { tsb: sansOf(pemCertificates(c.liveTsbCertPem)[0]!), xcp: sansOf(pemCertificates(c.liveXcpCertPem)[0]!) };
    const now = { tsb: sansOf(pemCertificates(tsbCert)[0]!), xcp: sansOf(pemCertificates(xcpCert)[0]!) };
    for (const part of ["tsb", "xcp"] as const) {
      for (const d of live[part].dnsNames) assert.ok(now[part].dnsNames.includes(d), `${part}: live DNS SAN ${d} kept`);
      for (const ip of live[part].ipAddresses) assert.ok(now[part].ipAddresses.includes(ip), `${part}: live IP SAN ${ip} kept`);
      for (const u of live[part].uris) assert.ok(now[part].uris.includes(u), `${part}: live URI SAN ${u} kept`);
      assert.ok(now[part].dnsNames.includes(PERMANENT) && now[part].dnsNames.includes(c.floatingFqdn), `${part}: permanent and floating names`);
    }
    assert.ok(live.tsb.ipAddresses.length > 0, "the fixture's live leaf has an IP SAN to keep");
    const values = releaseValues(run, "mp1");
    assert.equal(((values["secrets"] as Values)["tsb"] as Values)["cert"], tsbCert, "the release carries the new leaf");
  });

  it("step activate: no root CA is ever registered; the stack's root CA output is the given CA", () => {
    for (const run of Object.values(runs)) assert.equal(run.registrations.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert").length, 0);
    assert.equal(stack.outputs["rootCaCertPem"]!.value, c.caCertPem);
  });

  it("step activate: the floating record becomes a CNAME to the permanent name, updated in place with the set's TTL", () => {
    const d = stack.log[2]!.diff;
    assert.ok(d.updated.includes("floating-record") && !d.replaced.includes("floating-record"));
    const inputs = reveal(find(runs["activate"]!, "floating-record").inputs) as Record<string, unknown>;
    assert.equal(inputs["type"], "CNAME");
    assert.deepEqual(inputs["records"], [PERMANENT]);
    assert.equal(inputs["ttl"], 60);
    assert.equal(inputs["name"], c.floatingFqdn, "same name: Route53 replaces on a new name (record.go ForceNew)");
  });

  it("step activate: the ready gate and the API check prove the MP serves before the name moves", () => {
    const run = runs["activate"]!;
    assert.ok(has(run, "mp1-tsb-ready") && has(run, "mp1-api-verified"));
    assert.ok(find(run, "floating-record").dependencies.some((u) => u.endsWith("mp1-api-verified")));
  });

  it("step activate again changes nothing, and the history keeps the SANs so the leaves stay", () => {
    assert.equal(changes(stack.log[3]!.diff), 0, JSON.stringify(stack.log[3]!.diff));
    const history = stack.outputs["history"]!.value as { sites: Record<string, { adoptStep?: string; adoptSans?: { tsb: { ipAddresses: string[] } } }> };
    assert.equal(history.sites["mp1"]!.adoptStep, "activate");
    assert.ok((history.sites["mp1"]!.adoptSans?.tsb.ipAddresses.length ?? 0) > 0);
  });

  it("add a standby: it starts from the installed values without the active's leaves, CA key or HA block; mp1 is untouched", () => {
    const run = runs["add mp2"]!;
    const values = releaseValues(run, "mp2");
    const spec = values["spec"] as Values;
    assert.deepEqual(spec["identityProvider"], (c.values["spec"] as Values)["identityProvider"], "hand-set identity provider kept");
    assert.deepEqual(spec["tokenIssuer"], (c.values["spec"] as Values)["tokenIssuer"]);
    assert.ok("standby" in (spec["highAvailability"] as Values));
    assert.equal(((values["secrets"] as Values)["xcp"] as Values)["rootcakey"], undefined);
    const mp2Cert = (find(run, "mp2-tsb-cert").state as { certPem: string }).certPem;
    assert.notEqual(((values["secrets"] as Values)["tsb"] as Values)["cert"], releaseValues(run, "mp1")["secrets"] && ((releaseValues(run, "mp1")["secrets"] as Values)["tsb"] as Values)["cert"]);
    assert.ok(opensslVerifies(c.caCertPem, mp2Cert), "the standby's leaf chains to the same CA");
    const d = stack.log[4]!.diff;
    assert.ok(!d.updated.includes("mp1-managementplane") && !d.replaced.includes("mp1-managementplane"), JSON.stringify(d));
    assert.ok(d.created.includes("mp2-managementplane"));
    assert.ok(!run.infos.some((l) => l.startsWith("mp1: values differ")), "no adoption line once the steps are done");
  });

  it("once imported, the adopted namespace and release are not protected: a lost adopted site leaves the state and the failover goes on", () => {
    for (const name of ["mp1-namespace", "mp1-managementplane"]) {
      assert.ok(find(runs["import"]!, name).protect, `${name} protected while imported`);
      assert.equal(find(runs["activate"]!, name).protect, false, `${name} from activate on`);
      assert.ok(find(runs["activate"]!, name).retainOnDelete, `${name} is never deleted from the cluster`);
    }
    assert.deepEqual(runs["lose mp1"]!.errors, []);
    assert.ok(lostDiff!.removed.includes("mp1-managementplane") && lostDiff!.removed.includes("mp1-namespace"), JSON.stringify(lostDiff));
    assert.deepEqual((reveal(find(runs["lose mp1"]!, "floating-record").inputs) as Values)["records"], ["mp2.acme.example.com"]);
  });

  it("an upgrade after adoption is an ordinary update: both releases move to the new chart and image, in place", () => {
    const run = runs["upgrade"]!;
    assert.deepEqual(run.errors, []);
    const d = stack.log[5]!.diff;
    for (const s of ["mp1", "mp2"]) {
      const inputs = reveal(find(run, `${s}-managementplane`).inputs) as Values;
      assert.equal(inputs["version"], UPGRADE, s);
      assert.equal((inputs["values"] as { image: { tag: string } }).image.tag, UPGRADE, `${s}: image.tag follows tsb.version`);
      assert.ok(d.updated.includes(`${s}-managementplane`) && !d.replaced.includes(`${s}-managementplane`), s);
    }
    assert.equal((reveal(find(run, "mp1-managementplane").inputs) as Values)["name"], c.release);
  });

  it("fail over mp1 -> mp2: mp2 gets the active block over the installed values, the adopted release stays untouched, the name moves", () => {
    const run = runs["fail over to mp2"]!;
    const d = stack.log[6]!.diff;
    const spec = releaseValues(run, "mp2")["spec"] as Values;
    assert.deepEqual(spec["highAvailability"], { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
    assert.deepEqual(spec["identityProvider"], (c.values["spec"] as Values)["identityProvider"], "the installed identity provider on the new active");
    assert.ok(!d.updated.includes("mp1-managementplane") && !d.replaced.includes("mp1-managementplane"), "the fenced adopted release gets no upgrade");
    assert.deepEqual(find(run, "mp1-managementplane").ignoreChanges.includes("values"), true);
    assert.equal((reveal(find(run, "mp1-managementplane").inputs) as Values)["name"], c.release, "still the installed release name");
    assert.deepEqual((reveal(find(run, "floating-record").inputs) as Values)["records"], ["mp2.acme.example.com"]);
    for (const name of ["mp1-namespace", "mp1-managementplane", "floating-record"]) assert.ok(!d.replaced.includes(name) && !d.removed.includes(name), name);
  });
});

describe("the policy pack over an adopted set", () => {
  it("finds nothing at any step, and nothing secret to remediate (adopted values, CA key, admin password)", async () => {
    const api = await FakeKubeApi.start({ context: "mp1" });
    try {
      const c = seedAdoptedCluster(api);
      const stack = new Stack({ secretKeys: ["adoptedValues", "adoptedCa"] });
      const stackPolicies = allPolicies().filter((p): p is StackValidationPolicy => "validateStack" in p);
      for (const [step, sites] of [["import", {}], ["activate", {}], ["activate", { mp2: { context: "mp2" } }]] as const) {
        const cfg = config(c, api, { step, sites });
        const run = await stack.up(step, cfg, { importable: importable(c) });
        assert.deepEqual(run.errors, [], step);
        const args = stackArgs(policyResources(run, { config: cfg }));
        const violations = (await Promise.all(stackPolicies.map((p) => validate(p, args)))).flat();
        assert.deepEqual(violations, [], `${step}${"mp2" in sites ? " + mp2" : ""}`);
        for (const r of run.registrations) assert.equal(await remediate(secretsStaySecret(), r), undefined, `${step}: ${r.name}`);
        if (step === "activate" && !("mp2" in sites)) {
          // The same set with mp1's front-envoy leaf signed by another CA: one-root-ca fires on it, alone.
          const other = structuredClone(run);
          for (const reg of other.registrations.filter((r) => r.name === "mp1-tsb-cert")) {
            for (const side of ["inputs", "state"] as const) {
              const v = reveal(reg[side]) as Record<string, unknown>;
              v["caCertPem"] = c.liveXcpCertPem;
              reg[side] = v;
            }
          }
          const vs = (await Promise.all(stackPolicies.map((p) => validate(p, stackArgs(policyResources(other, { config: cfg })))))).flat();
          assert.deepEqual(vs.map((x) => x.policy), ["one-root-ca"]);
          assert.match(vs[0]!.message, /mp1-tsb-cert is signed by a CA other than the adopted CA/);
        }
      }
    } finally {
      await api.close();
    }
  });
});

describe("adoption refusals stop the update before anything is registered", () => {
  let api: FakeKubeApi;
  let c: AdoptedCluster;
  before(async () => {
    api = await FakeKubeApi.start({ context: "mp1" });
    c = seedAdoptedCluster(api);
  });
  after(async () => { await api.close(); });
  const up = (cfg: Record<string, unknown>, preview = false) =>
    new Stack({ tls: "openssl", secretKeys: ["adoptedValues", "adoptedCa"] }).up("refused", cfg, { importable: importable(c), preview });

  it("values that differ from the installed ones: the changed paths, never the values", async () => {
    const changed = structuredClone(c.values);
    ((changed["spec"] as Values)["components"] as Values)["frontEnvoy"] = { port: 443, replicaCount: 3 };
    const run = await up(config(c, api, { step: "import", values: yaml.dump(changed) }), true);
    assert.match(run.errors.join("\n"), /\[values-drift\].*spec\.components\.frontEnvoy\.replicaCount/);
    assert.ok(!c.secretTexts.some((s) => run.errors.join("\n").includes(s)));
    assert.equal(run.registrations.filter((r) => r.kind === "register" && r.custom).length, 0);
  });

  it("a release name that helm does not know: the fix names helm ls", async () => {
    const cfg = config(c, api, { step: "import" });
    ((cfg["sites"] as Values)["mp1"] as Values)["adopt"] = { release: "mp", step: "import", floatingRecord: { type: "A" } };
    const run = await up(cfg);
    assert.match(run.errors.join("\n"), /\[release-missing\].*helm ls/);
    assert.equal(run.registrations.filter((r) => r.kind === "register" && r.custom).length, 0);
  });

  it("activate on a stack that never imported: the skipped step names the key", async () => {
    const run = await up(config(c, api, { step: "activate" }));
    assert.match(run.errors.join("\n"), /tsb-ha:sites\.mp1\.adopt\.step = "activate" skips the import step/);
  });

  it("a standby in the update that imports: refused, naming the order", async () => {
    const run = await up(config(c, api, { step: "import", sites: { mp2: { context: "mp2" } } }));
    assert.match(run.errors.join("\n"), /imports mp1 in the update that also adds mp2/);
  });
});

describe("adopting an MP installed without spec.components.frontEnvoy.port (TSB's front envoy then listens on 8443)", () => {
  let api: FakeKubeApi;
  const stack = adoptingStack();
  const runs: Record<string, ChildOutput> = {};
  before(async () => {
    const { api: seeded, c, extra } = await seededCluster({ frontEnvoyPort: null });
    api = seeded;
    runs["default port"] = await adoptingStack().up("import, tsb.frontEnvoyPort unset", config(c, api, { step: "import" }), { ...extra, preview: true });
    runs["import"] = await stack.up("import", config(c, api, { step: "import", port: 8443 }), extra);
    runs["activate"] = await stack.up("activate", config(c, api, { step: "activate", port: 8443 }), extra);
    runs["add mp2"] = await stack.up("add mp2", config(c, api, { step: "activate", port: 8443, sites: { mp2: { context: "mp2" } } }), extra);
  });
  after(async () => { await api.close(); });

  it("tsb.frontEnvoyPort left at 443 is refused before anything is registered, naming the port to set", () => {
    const errors = runs["default port"]!.errors.join("\n");
    assert.match(errors, /tsb-ha:tsb\.frontEnvoyPort = 443 differs from the installed spec\.components\.frontEnvoy\.port \(8443 \(spec\.components\.frontEnvoy\.port is unset: TSB's default\)\)\..*set tsb-ha:tsb\.frontEnvoyPort to 8443/);
    assert.equal(runs["default port"]!.registrations.filter((r) => r.kind === "register" && r.custom).length, 0);
  });

  it("with 8443 the steps run, and the API check and the standby's sync use the port the MP listens on", () => {
    for (const l of stack.log) assert.deepEqual(l.errors, [], l.step);
    assert.equal((reveal(find(runs["activate"]!, "mp1-api-verified").inputs) as { port: number }).port, 8443);
    const standby = ((releaseValues(runs["add mp2"]!, "mp2")["spec"] as Values)["highAvailability"] as Values)["standby"] as Values;
    assert.equal((standby["activeMpSynchronizationEndpoint"] as Values)["port"], 8443);
    assert.equal(((releaseValues(runs["activate"]!, "mp1")["spec"] as Values)["components"] as Values)["frontEnvoy"], undefined, "the installed values stay as they are: no port is added");
  });
});

describe("adopting without the CA's key (route B: a trust bundle first)", () => {
  let api: FakeKubeApi;
  let c: AdoptedCluster;
  const stack = adoptingStack();
  const runs: Record<string, ChildOutput> = {};
  before(async () => {
    let extra;
    ({ api, c, extra } = await seededCluster());
    const ca = { certPem: c.caCertPem };
    runs["import"] = await stack.up("import", config(c, api, { step: "import", ca }), extra);
    runs["activate, not rolled out"] = await stack.up("activate, not rolled out", config(c, api, { step: "activate", ca }), extra);
    runs["activate"] = await stack.up("activate", config(c, api, { step: "activate", ca, rolled: true }), extra);
  });
  after(async () => { await api.close(); });

  it("step import makes the new root and exports the control planes' bundle: old CA + new root", () => {
    assert.deepEqual(runs["import"]!.errors, []);
    const bundle = stack.outputs["adoptionTrustBundle"]!.value as { secrets: { tsb: { cacert: string }; xcp: { rootca: string }; elasticsearch: { cacert: string } } };
    const root = stack.outputs["rootCaCertPem"]!.value as string;
    for (const v of [bundle.secrets.tsb.cacert, bundle.secrets.xcp.rootca, bundle.secrets.elasticsearch.cacert]) {
      assert.equal(pemCertificates(v).length, 2);
      assert.ok(v.includes(c.caCertPem.trim()) && v.includes(root.trim()));
    }
  });

  it("activate is refused until the bundle is rolled out, naming the key", () => {
    assert.match(runs["activate, not rolled out"]!.errors.join("\n"), /sites\.mp1\.adopt\.trustBundleRolledOut/);
  });

  it("once rolled out, the leaves come from the new root, which the bundle holds", () => {
    assert.deepEqual(runs["activate"]!.errors, []);
    const tsbCert = (find(runs["activate"]!, "mp1-tsb-cert").state as { certPem: string }).certPem;
    assert.ok(opensslVerifies(stack.outputs["rootCaCertPem"]!.value as string, tsbCert));
    assert.ok(!opensslVerifies(c.caCertPem, tsbCert));
  });
});
