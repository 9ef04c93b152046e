// The adoption preflight's reads (issue 13): Helm's release record decoded as Helm stores it, the revision
// Helm calls current, and every refusal of adoptionPreflight produced from a hand-installed MP read over
// HTTPS (test/harness/fakeKubeApi.ts seeded by test/harness/adoptedCluster.ts). No message may carry a
// password or a key.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { adoptionPreflight, type Refusal } from "../../lib/adoption/decide";
import { parseHelmValues } from "../../lib/config/helmValues";
import { crdSpecProperties, decodeHelmReleaseSecret, latestRelease, readAdoptionState, type LiveAdoption, type RecordedAdoptionState } from "../../lib/adoption/read";
import { FakeKubeApi } from "../harness/fakeKubeApi";
import { helmReleaseSecret, managementPlaneCrd, seedAdoptedCluster, type AdoptedCluster, type AdoptedClusterOptions } from "../harness/adoptedCluster";

/** Every message the tests saw (refusals, errors), checked for secrets at the end. */
const seen: string[] = [];
const secrets: string[] = [];
after(() => {
  for (const text of seen) for (const s of secrets) assert.ok(!text.includes(s.trim()), "a message carries a password or key");
  assert.ok(seen.length > 20, "the secret check saw the messages");
});

const rel = (over: Partial<Parameters<typeof helmReleaseSecret>[0]> = {}): Parameters<typeof helmReleaseSecret>[0] => ({
  name: "tsb-managementplane", namespace: "tsb", revision: 1, status: "deployed", chartName: "managementplane", chartVersion: "1.10.0",
  config: { secrets: { tsb: { adminPassword: "hunter2-admin" } }, spec: { organization: "acme" } }, ...over,
});
secrets.push("hunter2-admin");

function rejectsWith(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    seen.push(e.message);
    assert.match(e.message, re);
    return true;
  });
}

describe("decodeHelmReleaseSecret", () => {
  it("decodes a record made by the gzip and base64 CLIs as Helm lays it out (base64 of gzip of JSON, then the API's base64)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "helm-rec-"));
    try {
      const release = {
        name: "mp", namespace: "tsb", version: 3, info: { status: "deployed", description: "Upgrade complete" },
        chart: { metadata: { name: "managementplane", version: "1.9.2" }, values: { image: { tag: "default" } } },
        config: { image: { tag: "1.9.2" }, spec: { organization: "tetrate" } }, manifest: "---\n",
      };
      writeFileSync(path.join(dir, "rel.json"), JSON.stringify(release));
      const apiData = execFileSync("sh", ["-c", "gzip -9 -c rel.json | base64 -w0 | base64 -w0"], { cwd: dir }).toString("utf8");
      const r = decodeHelmReleaseSecret({ type: "helm.sh/release.v1", metadata: { name: "sh.helm.release.v1.mp.v3", namespace: "tsb" }, data: { release: apiData } });
      assert.deepEqual(r, { name: "mp", namespace: "tsb", revision: 3, status: "deployed", chartName: "managementplane", chartVersion: "1.9.2", config: release.config });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("round-trips the harness's Helm encoding, and reads a null config as no values", () => {
    const input = rel({ revision: 4, status: "pending-upgrade" });
    assert.deepEqual(decodeHelmReleaseSecret(helmReleaseSecret(input)), {
      name: input.name, namespace: input.namespace, revision: 4, status: "pending-upgrade", chartName: input.chartName, chartVersion: input.chartVersion, config: input.config,
    });
    assert.deepEqual(decodeHelmReleaseSecret(helmReleaseSecret(rel({ config: null }))).config, {});
  });

  it("reads records stored before Helm compressed them (no gzip magic: plain JSON)", () => {
    const json = JSON.stringify({ name: "mp", version: 1, namespace: "tsb", info: { status: "superseded" }, chart: { metadata: { name: "managementplane", version: "1.5.0" } } });
    const r = decodeHelmReleaseSecret({ type: "helm.sh/release.v1", metadata: { name: "x" }, data: { release: Buffer.from(Buffer.from(json).toString("base64")).toString("base64") } });
    assert.equal(r.chartVersion, "1.5.0");
    assert.equal(r.status, "superseded");
  });

  it("refuses a malformed record naming the Secret and the fault, never its contents", () => {
    const good = helmReleaseSecret(rel()) as { data: { release: string } };
    const inner = Buffer.from(good.data.release, "base64").toString("latin1");
    const withData = (release: unknown, type = "helm.sh/release.v1"): unknown => ({ type, metadata: { name: "sh.helm.release.v1.mp.v2", namespace: "tsb" }, data: { release } });
    rejectsWith(() => decodeHelmReleaseSecret(withData(good.data.release, "Opaque")), /Secret tsb\/sh\.helm\.release\.v1\.mp\.v2 is not a Helm 3 release record \(type "Opaque"/);
    rejectsWith(() => decodeHelmReleaseSecret({ type: "helm.sh/release.v1", metadata: { name: "r" }, data: {} }), /Secret r has no data\.release/);
    rejectsWith(() => decodeHelmReleaseSecret(withData("not base64 !!")), /data\.release is not base64/);
    rejectsWith(() => decodeHelmReleaseSecret(withData(Buffer.from("%%%").toString("base64"))), /release inside data\.release is not base64/);
    // A truncated gzip stream (the first half of the real one) and bytes that are neither gzip nor JSON.
    const gz = Buffer.from(inner, "base64");
    rejectsWith(() => decodeHelmReleaseSecret(withData(Buffer.from(gz.subarray(0, gz.length >> 1).toString("base64")).toString("base64"))), /gzip header but does not decompress/);
    rejectsWith(() => decodeHelmReleaseSecret(withData(Buffer.from(Buffer.from("adminPassword: hunter2-admin").toString("base64")).toString("base64"))), /does not hold a JSON release/);
    const noVersion = helmReleaseSecret(rel());
    const json = JSON.stringify({ name: "mp", version: 2, info: { status: "deployed" }, chart: { metadata: { name: "managementplane" } }, config: { secrets: { tsb: { adminPassword: "hunter2-admin" } } } });
    (noVersion["data"] as Record<string, string>)["release"] = Buffer.from(Buffer.from(json).toString("base64")).toString("base64");
    rejectsWith(() => decodeHelmReleaseSecret(noVersion), /has no chart\.metadata\.version/);
  });
});

describe("latestRelease", () => {
  const enc = (revision: number, status: string, chartVersion: string, name = "mp"): Record<string, unknown> =>
    helmReleaseSecret(rel({ name, revision, status, chartVersion }));

  it("takes the highest revision as Helm's Last does: by number, whatever its status or list order", () => {
    const r = latestRelease([enc(10, "pending-upgrade", "1.10.0"), enc(9, "deployed", "1.9.4"), enc(2, "superseded", "1.9.0")], "mp");
    assert.equal(r?.revision, 10);
    assert.equal(r?.status, "pending-upgrade");
    assert.equal(latestRelease([enc(9, "superseded", "1.9.4"), enc(11, "deployed", "1.10.0"), enc(10, "superseded", "1.9.9")], "mp")?.chartVersion, "1.10.0");
  });

  it("ignores other releases and says undefined when the release has no record", () => {
    assert.equal(latestRelease([enc(3, "deployed", "1.9.0"), enc(7, "deployed", "9.9.9", "other")], "mp")?.chartVersion, "1.9.0");
    assert.equal(latestRelease([enc(7, "deployed", "9.9.9", "other")], "mp"), undefined);
    assert.equal(latestRelease([], "mp"), undefined);
  });

  it("skips an undecodable older revision (as Helm's driver does) but not an undecodable newest one", () => {
    const broken = (revision: number): Record<string, unknown> => {
      const s = enc(revision, "superseded", "1.0.0");
      (s["data"] as Record<string, string>)["release"] = "!!";
      return s;
    };
    assert.equal(latestRelease([broken(1), enc(2, "deployed", "1.10.0")], "mp")?.revision, 2);
    rejectsWith(() => latestRelease([broken(3), enc(2, "deployed", "1.10.0")], "mp"), /sh\.helm\.release\.v1\.mp\.v3.*not base64; it may be the newest revision of mp/);
  });
});

describe("crdSpecProperties", () => {
  it("lists spec's top-level properties of the served versions only", () => {
    const crd = managementPlaneCrd(["hub", "organization"]) as { spec: { versions: Array<Record<string, unknown>> } };
    const v1 = crd.spec.versions[0]!;
    const withHa = (served: boolean, name: string): Record<string, unknown> => ({ ...structuredClone(managementPlaneCrd(["highAvailability", "hub"]) as typeof crd).spec.versions[0]!, name, served, storage: false });
    assert.deepEqual(crdSpecProperties({ spec: { versions: [v1, withHa(false, "v1alpha0")] } }), ["hub", "organization"]);
    assert.deepEqual(crdSpecProperties({ spec: { versions: [v1, withHa(true, "v1alpha2")] } }), ["highAvailability", "hub", "organization"]);
    assert.deepEqual(crdSpecProperties({ spec: {} }), []);
  });
});

describe("readAdoptionState over HTTPS, judged by adoptionPreflight", () => {
  const SITE = "mp1";

  /** A fresh API with a seeded MP; `change` breaks one thing before the read. */
  async function scenario(opts: AdoptedClusterOptions, body: (c: AdoptedCluster, api: FakeKubeApi, read: (timeoutMs?: number) => Promise<LiveAdoption>) => Promise<void>): Promise<void> {
    const api = await FakeKubeApi.start({ context: SITE });
    try {
      const c = seedAdoptedCluster(api, opts);
      secrets.push(...c.secretTexts);
      await body(c, api, (timeoutMs = 5000) => readAdoptionState({ kubeconfig: api.kubeconfigPath, context: SITE }, SITE, { release: c.release, namespace: c.namespace }, timeoutMs));
    } finally {
      await api.close();
    }
  }
  const expectOf = (c: AdoptedCluster): RecordedAdoptionState["expect"] =>
    ({ release: c.release, namespace: c.namespace, chartVersion: c.chartVersion, organization: c.organization, floatingFqdn: c.floatingFqdn, frontEnvoyPort: 443 });
  function judge(c: AdoptedCluster, live: LiveAdoption, over: Partial<RecordedAdoptionState["expect"]> = {}, caCertPem = c.caCertPem): Refusal[] {
    const refusals = adoptionPreflight({ site: SITE, expect: { ...expectOf(c), ...over }, caCertPem, ...live });
    seen.push(...refusals.map((r) => r.message));
    return refusals;
  }
  const codes = (rs: Refusal[]): string[] => rs.map((r) => r.code).sort();

  it("reads a clean Helm install as it is: latest revision's values, CR spec, CRD schema, live leaves, owned objects; no refusal", async () => {
    await scenario({}, async (c, api, read) => {
      const live = await read();
      assert.deepEqual(live.release, { chartVersion: c.chartVersion, status: "deployed" });
      assert.equal(live.revision, 2);
      assert.deepEqual(live.storedValues, c.values);
      assert.deepEqual(parseHelmValues(c.valuesYaml), live.storedValues, "helm get values -o yaml gives back what Helm stored");
      assert.deepEqual(live.managementPlaneSpec, c.values["spec"]);
      assert.ok(live.crdSpecProperties?.includes("highAvailability"));
      assert.equal(live.tsbCertsPem, c.liveTsbCertPem);
      assert.equal(live.xcpCentralCertPem, c.liveXcpCertPem);
      assert.equal(live.signingKeySecretExists, true);
      const ids = live.objects.map((o) => `${o.kind}/${o.namespace ?? "-"}/${o.name}`);
      for (const id of ["Deployment/tsb/tsb-operator-management-plane", "Service/tsb/tsb-operator-management-plane", "ServiceAccount/tsb/tsb-operator-management-plane",
        "ClusterRole/-/tsb-operator-management-plane-tsb", "ClusterRoleBinding/-/tsb-operator-management-plane-tsb", "Secret/tsb/tsb-certs", "Secret/tsb/xcp-central-cert",
        "Secret/tsb/admin-credentials", "ManagementPlane/tsb/managementplane"]) assert.ok(ids.includes(id), `${id} is read`);
      assert.ok(!ids.some((id) => id.endsWith("/es-certs")), "a 404 is left out");
      assert.ok(!ids.some((id) => id.endsWith(`/iam-signing-key`)), "the operator's key is not the chart's");
      assert.deepEqual(judge(c, live), []);
      // Every request was a GET: the preflight writes nothing.
      assert.ok(api.requests.length >= 15 && api.requests.every((r) => r.method === "GET" && r.authorized));
    });
  });

  it("release missing: no Helm record of that name", async () => {
    await scenario({}, async (c, api, read) => {
      for (const v of [1, 2]) api.set("secrets", c.namespace, `sh.helm.release.v1.${c.release}.v${v}`, undefined);
      const rs = judge(c, await read());
      assert.deepEqual(codes(rs), ["release-missing"]);
      assert.match(rs[0]!.message, /^mp1: helm has no release tsb\/tsb-managementplane/);
    });
  });

  it("chart version differs from config", async () => {
    await scenario({ chartVersion: "1.10.2" }, async (c, _api, read) => {
      const rs = judge(c, await read(), { chartVersion: "1.10.0" });
      assert.deepEqual(codes(rs), ["release-version"]);
      assert.match(rs[0]!.message, /runs chart 1\.10\.2, config says 1\.10\.0/);
    });
  });

  it("latest revision pending-upgrade (an interrupted helm upgrade)", async () => {
    await scenario({ status: "pending-upgrade" }, async (c, _api, read) => {
      const rs = judge(c, await read());
      assert.deepEqual(codes(rs), ["release-status"]);
      assert.match(rs[0]!.message, /is pending-upgrade, not deployed/);
    });
  });

  it("organisation differs", async () => {
    await scenario({ organization: "acme-prod" }, async (c, _api, read) => {
      const rs = judge(c, await read(), { organization: "acme" });
      assert.deepEqual(codes(rs), ["organization"]);
      assert.match(rs[0]!.message, /serves organization "acme-prod"/);
    });
  });

  it("spec.dataStore set (external Postgres)", async () => {
    await scenario({ dataStore: { postgres: { host: "pg.acme.example.com", port: 5432, name: "tsb", sslMode: "verify_full" } } }, async (c, _api, read) => {
      assert.deepEqual(codes(judge(c, await read())), ["external-postgres"]);
    });
  });

  it("CRD without spec.highAvailability", async () => {
    await scenario({ crdHighAvailability: false }, async (c, _api, read) => {
      const live = await read();
      assert.ok(live.crdSpecProperties && live.crdSpecProperties.length > 5);
      const rs = judge(c, live);
      assert.deepEqual(codes(rs), ["no-high-availability"]);
      assert.match(rs[0]!.message, /has no spec\.highAvailability/);
    });
  });

  it("CRD forbidden (403): support unknown, the fix says which permission", async () => {
    await scenario({}, async (c, api, read) => {
      api.inject({ kind: "status", code: 403, message: 'customresourcedefinitions.apiextensions.k8s.io "managementplanes.install.tetrate.io" is forbidden' }, Infinity, /customresourcedefinitions/);
      const live = await read();
      assert.equal(live.crdSpecProperties, undefined);
      const rs = judge(c, live);
      assert.deepEqual(codes(rs), ["no-high-availability"]);
      assert.match(rs[0]!.message, /could not be read.*Grant get on customresourcedefinitions/);
    });
  });

  it("IAM signing key kept in tsb-certs", async () => {
    await scenario({ signingKeysSecret: "tsb-certs" }, async (c, _api, read) => {
      const live = await read();
      assert.equal(live.signingKeySecretExists, false);
      assert.deepEqual(codes(judge(c, live)), ["signing-key-in-tsb-certs"]);
    });
  });

  it("live leaves from another CA than adoptedCa", async () => {
    await scenario({ certsFromOtherCa: true }, async (c, _api, read) => {
      const rs = judge(c, await read());
      assert.deepEqual(codes(rs), ["cert-chain", "cert-chain"]);
      assert.match(rs.map((r) => r.message).join("\n"), /live tsb-certs does not chain[\s\S]*live xcp-central-cert does not chain/);
    });
  });

  it("floating name not in the live tsb-certs", async () => {
    await scenario({ floatingFqdn: "tsb.acme.example.com" }, async (c, _api, read) => {
      const rs = judge(c, await read(), { floatingFqdn: "mesh.acme.example.com" });
      assert.deepEqual(codes(rs), ["floating-not-served"]);
      assert.match(rs[0]!.message, /does not name mesh\.acme\.example\.com/);
    });
  });

  it("tctl install: no release, objects without Helm's metadata, with the kubectl commands for each", async () => {
    await scenario({ install: "tctl", release: "mp" }, async (c, _api, read) => {
      const live = await read();
      assert.equal(live.release, undefined);
      const rs = judge(c, live);
      assert.deepEqual(codes(rs), ["helm-ownership", "release-missing"]);
      const msg = rs.find((r) => r.code === "helm-ownership")!.message;
      assert.match(msg, new RegExp(`^mp1: ${live.objects.length} object\\(s\\) lack Helm's ownership metadata for tsb/mp`));
      for (const o of live.objects) {
        const ref = `${o.namespace ? `-n ${o.namespace} ` : ""}${o.kind.toLowerCase()}/${o.name}`;
        assert.ok(msg.includes(`kubectl label ${ref} app.kubernetes.io/managed-by=Helm --overwrite`), `label ${ref}`);
        assert.ok(msg.includes(`kubectl annotate ${ref} meta.helm.sh/release-name=mp meta.helm.sh/release-namespace=tsb --overwrite`), `annotate ${ref}`);
      }
      assert.ok(msg.includes("kubectl label clusterrole/tsb-operator-management-plane-tsb "), "cluster-scoped: no -n");
      assert.ok(msg.includes("kubectl label -n tsb managementplane/managementplane "));
    });
  });

  it("a hanging API server fails within the timeout, naming the site", async () => {
    await scenario({}, async (_c, api, read) => {
      api.inject({ kind: "hang" });
      const started = Date.now();
      await assert.rejects(read(700), (e: Error) => {
        seen.push(e.message);
        assert.match(e.message, /^site mp1: GET https:\/\/127\.0\.0\.1:\d+\/\S+ failed: no answer within 1 s/);
        return true;
      });
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    });
  });

  it("other API errors stop the read with the site and path; a 403 on a Secret is not taken for a missing one", async () => {
    await scenario({}, async (_c, api, read) => {
      api.inject({ kind: "status", code: 503, message: "etcd leader changed" }, 1, /\/secrets\/tsb-certs$/);
      await assert.rejects(read(), (e: Error) => {
        seen.push(e.message);
        assert.match(e.message, /^site mp1: GET \S+\/api\/v1\/namespaces\/tsb\/secrets\/tsb-certs answered 503 \(etcd leader changed\)/);
        return true;
      });
      api.inject({ kind: "status", code: 403, message: "secrets is forbidden" }, 1, /\/secrets$/);
      await assert.rejects(read(), (e: Error) => {
        seen.push(e.message);
        assert.match(e.message, /^site mp1: GET \S+\/api\/v1\/namespaces\/tsb\/secrets\?labelSelector=owner%3Dhelm%2Cname%3Dtsb-managementplane answered 403/);
        return true;
      });
    });
  });

  it("a corrupt newest Helm record stops the read naming the Secret, never its values", async () => {
    await scenario({}, async (c, api, read) => {
      const s = api.get("secrets", c.namespace, `sh.helm.release.v1.${c.release}.v2`)!;
      const data = s["data"] as Record<string, string>;
      api.set("secrets", c.namespace, `sh.helm.release.v1.${c.release}.v2`, { ...s, data: { release: data["release"]!.slice(0, 200) } });
      await assert.rejects(read(), (e: Error) => {
        seen.push(e.message);
        assert.match(e.message, /^site mp1: Helm's record of release tsb\/tsb-managementplane: Secret tsb\/sh\.helm\.release\.v1\.tsb-managementplane\.v2/);
        return true;
      });
    });
  });
});
