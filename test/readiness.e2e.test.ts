// `readiness` end to end, two sites: the command (scripts/readiness.ts runReadiness) reads the stack
// from a file of the Automation API's shape, each site's Kubernetes API is a stand-in over HTTPS
// reached through a real kubeconfig (test/harness/fakeKubeApi.ts: Secrets and SelfSubjectAccessReviews),
// the active's TSB API is the stand-in of test/harness/fakeTsbApi.ts with a certificate from the set's
// root CA, and replication is measured on real PostgreSQL (primary mp1, standby mp2) by the gate's
// probe over a direct connection (production: psql through pod exec).
// Run alone: node --import tsx --test test/readiness.e2e.test.ts
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { FakeKubeApi, fakeDeployment } from "./harness/fakeKubeApi";
import { runStatus } from "../scripts/status";
import { STATUS_DEPLOYMENTS } from "../lib/oncall/status";
import { FakeTsbApi } from "./harness/fakeTsbApi";
import { PgCluster } from "./harness/pgCluster";
import { TestRootCa } from "./harness/certChain";
import { FLOATING, FQDN, ORG, b64, history, jwksData, rawConfig, signingKeyData } from "./harness/onCallFixtures";
import { runReadiness, type ReadinessDeps } from "../scripts/readiness";
import type { StackSnapshot } from "../scripts/onCall";
import { XCP_CENTRAL_DNS } from "../lib/plan/certs";
import { JWKS_SECRET, SIGNING_KEY_SECRET, STANDBY_SA_SECRET, TSB_NAMESPACE } from "../lib/config/names";
import type { TargetReadiness } from "../lib/oncall/readiness";

const PASSWORD = "e2e-admin-password";

describe("readiness command end to end (two sites, stand-in APIs, real PostgreSQL)", () => {
  const root = new TestRootCa();
  const pg = new PgCluster();
  const dir = mkdtempSync(path.join(tmpdir(), "readiness-e2e-"));
  const stackFile = path.join(dir, "stack.json");
  let kube: Record<"mp1" | "mp2", FakeKubeApi>;
  let tsb: FakeTsbApi;
  const timings: string[] = [];

  const deps: ReadinessDeps = {
    transportFor: (site) => Promise.resolve(pg.transport(site)),
    dnsReader: { read: () => Promise.resolve({ status: "read", zoneReadable: true, record: { type: "CNAME", value: FQDN.mp1, ttl: 60 } }) },
  };
  const argv = (...more: string[]): string[] => ["--from-file", stackFile, "--tsb-address", "mp1=127.0.0.1", "--timeout-seconds", "3", ...more];
  async function timed(label: string, args: string[]): Promise<Awaited<ReturnType<typeof runReadiness>> & { ms: number }> {
    const t0 = Date.now();
    const r = await runReadiness(args, deps);
    const ms = Date.now() - t0;
    timings.push(`${label}: ${ms} ms`);
    return { ...r, ms };
  }
  const problems = (t: TargetReadiness | undefined): string[] => (t?.checks ?? []).filter((c) => c.status !== "pass").map((c) => `${c.name} [${c.status}]: ${c.reason}`);

  before(async () => {
    const [k1, k2] = await Promise.all([FakeKubeApi.start({ context: "mp1" }), FakeKubeApi.start({ context: "mp2" }), pg.start("mp1", ["mp2"])]);
    kube = { mp1: k1, mp2: k2 };
    const api = root.leaf([FQDN.mp1, FLOATING], 365);
    tsb = await new FakeTsbApi({ fqdn: FQDN.mp1, pki: { caPem: root.caPem, certPem: api.certPem, keyPem: api.keyPem }, password: PASSWORD, organization: ORG }).start();

    const secret = (site: "mp1" | "mp2", name: string, data: Record<string, string>): void => kube[site].set("secrets", TSB_NAMESPACE, name, { type: "Opaque", data });
    const tls = (names: string[]): Record<string, string> => ({ "tls.crt": b64(root.leaf(names, 365).certPem), "tls.key": b64("(key)") });
    secret("mp1", SIGNING_KEY_SECRET, signingKeyData("kid-1"));
    secret("mp2", SIGNING_KEY_SECRET, signingKeyData("kid-1"));
    secret("mp2", JWKS_SECRET, jwksData("kid-1"));
    secret("mp2", STANDBY_SA_SECRET, { jwk: b64("{}") });
    secret("mp2", "tsb-certs", tls([FQDN.mp2, FLOATING]));
    secret("mp2", "xcp-central-cert", tls([FQDN.mp2, FLOATING, XCP_CENTRAL_DNS]));

    const raw = rawConfig("mp1", {
      mp1: { kubeconfig: kube.mp1.kubeconfigPath, context: "mp1" },
      mp2: { kubeconfig: kube.mp2.kubeconfigPath, context: "mp2" },
    }, { frontEnvoyPort: tsb.port });
    const snapshot: StackSnapshot = {
      stack: "acme/tsb-ha/prod",
      config: Object.fromEntries(Object.entries(raw).map(([k, value]) => [`tsb-ha:${k}`, { value, secret: k === "standbyServiceAccountJwk" }])),
      outputs: {
        history: { value: history("mp1", { mp1: "active", mp2: "standby" }), secret: false },
        rootCaCertPem: { value: root.caPem, secret: false },
        adminPassword: { value: PASSWORD, secret: true },
      },
      pulumiVersion: "3.250.0",
      updateInProgress: false,
    };
    writeFileSync(stackFile, JSON.stringify(snapshot));
    // Some writes on the active, so the standby has WAL to replay and a lag to report.
    await pg.sql("mp1", "CREATE TABLE t (x int)");
    await pg.sql("mp1", "INSERT INTO t SELECT generate_series(1, 1000)");
  });

  after(async () => {
    await Promise.all([kube?.mp1.close(), kube?.mp2.close(), tsb?.stop(), pg.stopAll()]);
    root.dispose();
    rmSync(dir, { recursive: true, force: true });
    console.log(`readiness e2e run times: ${timings.join("; ")}`);
  });

  it("a healthy pair: mp2 READY, exit 0, every area checked against the real services", async () => {
    const r = await timed("healthy", argv("--min-pulumi-version", "3.0.0"));
    assert.equal(r.exitCode, 0, `${r.output}\n${problems(r.targets?.[0]).join("\n")}`);
    assert.equal(r.output.split("\n")[0], "mp2: READY");
    const checks = r.targets![0]!.checks;
    assert.match(checks.find((c) => c.name.startsWith("mp2 streams from mp1"))!.reason, /walreceiver streaming/);
    assert.match(checks.find((c) => c.area === "tsb api")!.reason, new RegExp(`organization ${ORG}`));
    // the access reviews were asked of each site's API, with its own token
    assert.ok(kube.mp2.requests.some((q) => q.path.endsWith("/selfsubjectaccessreviews") && q.authorized));
    assert.ok(kube.mp1.requests.some((q) => q.path.endsWith("/selfsubjectaccessreviews") && q.authorized));
    // nothing was written: only GETs and access reviews
    for (const k of [kube.mp1, kube.mp2]) assert.deepEqual(k.requests.filter((q) => q.method !== "GET" && !q.path.endsWith("/selfsubjectaccessreviews")), []);
    assert.ok(tsb.requests.every((q) => q.method === "GET"));
  });

  it("--json carries the same verdicts and checks", async () => {
    const text = await timed("json", argv("--json", "--min-pulumi-version", "3.0.0"));
    const human = await runReadiness(argv("--min-pulumi-version", "3.0.0"), deps);
    const parsed = JSON.parse(text.output) as { exitCode: number; targets: TargetReadiness[] };
    assert.equal(parsed.exitCode, human.exitCode);
    assert.deepEqual(parsed.targets.map((t) => t.verdict), human.targets!.map((t) => t.verdict));
    assert.deepEqual(parsed.targets[0]!.checks.map((c) => c.name), human.targets![0]!.checks.map((c) => c.name));
  });

  it("a denied verb, another kid and an old CLI: NOT READY (3), exit 1", async () => {
    kube.mp2.accessDenied.add("patch deployments");
    kube.mp2.set("secrets", TSB_NAMESPACE, SIGNING_KEY_SECRET, { data: signingKeyData("kid-2") });
    try {
      const r = await timed("three failures", argv("--min-pulumi-version", "3.999.0"));
      assert.equal(r.exitCode, 1);
      assert.match(r.output.split("\n")[0]!, /^mp2: NOT READY \(3\): /);
      const bad = problems(r.targets?.[0]);
      assert.ok(bad.some((b) => /^mp2: patch deployments/.test(b)), bad.join("\n"));
      assert.ok(bad.some((b) => /kid-2/.test(b)), bad.join("\n"));
      assert.ok(bad.some((b) => /Pulumi CLI >= 3\.999\.0/.test(b)), bad.join("\n"));
    } finally {
      kube.mp2.accessDenied.clear();
      kube.mp2.set("secrets", TSB_NAMESPACE, SIGNING_KEY_SECRET, { data: signingKeyData("kid-1") });
    }
  });

  it("the target's API hangs: the run stays within its bound and says mp2 did not answer", async () => {
    kube.mp2.inject({ kind: "hang" });
    try {
      const r = await timed("mp2 API hangs", argv("--min-pulumi-version", "3.0.0", "--timeout-seconds", "2"));
      assert.equal(r.exitCode, 1);
      assert.ok(r.ms < 8000, `took ${r.ms} ms`);
      assert.ok(problems(r.targets?.[0]).some((b) => /^target mp2 API \[fail\]: .*no answer within 2 s/.test(b)), problems(r.targets?.[0]).join("\n"));
    } finally {
      kube.mp2.clearFaults();
    }
  });

  it("status over the same pair: replicas, kids, replication and DNS read; the ManagementPlane CR the stand-in lacks is reported, exit 2", async () => {
    for (const site of ["mp1", "mp2"] as const) {
      for (const d of STATUS_DEPLOYMENTS) kube[site].set("deployments", TSB_NAMESPACE, d, fakeDeployment({ generation: 1, specReplicas: 1, readyReplicas: 1 }));
    }
    const t0 = Date.now();
    const r = await runStatus(["--from-file", stackFile, "--timeout-seconds", "3"], {
      transportFor: deps.transportFor!,
      dnsReader: deps.dnsReader!,
      resolver: (name) => Promise.resolve(name === FLOATING ? { cname: FQDN.mp1 } : { addresses: [] }),
    });
    timings.push(`status: ${Date.now() - t0} ms`);
    const kinds = r.report!.findings.map((f) => f.kind);
    assert.deepEqual([...new Set(kinds)], ["could-not-read"], r.output);
    assert.equal(r.exitCode, 2);
    assert.equal(r.report!.dnsPointsAt.provider, "mp1");
    assert.equal(r.report!.dnsPointsAt.publicResolver, "mp1");
    const mp2 = r.report!.input.sites.find((x) => x.site === "mp2")!;
    assert.equal(mp2.signingKid, "kid-1");
    assert.deepEqual(mp2.jwksKids, ["kid-1"]);
    assert.equal(mp2.replication && "probe" in mp2.replication ? mp2.replication.probe.walReceiverStatus : undefined, "streaming");
    assert.match(r.output.split("\n")[0]!, /^INCOMPLETE \(\d+\): could-not-read/);
  });

  it("the active's Postgres stops: mp2 no longer streams, the replication check fails", async () => {
    await pg.stopNode("mp1", "fast");
    const r = await timed("primary stopped", argv("--min-pulumi-version", "3.0.0"));
    assert.equal(r.exitCode, 1);
    const bad = problems(r.targets?.[0]);
    assert.ok(bad.some((b) => /^mp2 streams from mp1 \[fail\]/.test(b)), bad.join("\n"));
  });
});
