// The cluster waits as the engine runs them (each operation in a fresh provider process, values
// through protobuf Structs: test/harness/dynamicProvider.ts) against a stand-in Kubernetes API
// over HTTPS (test/harness/fakeKubeApi.ts) whose state the test changes while the provider polls.
import { describe, it } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { EngineDrivenResource, callInProviderProcess, serializeAsEngine } from "./harness/dynamicProvider";
import { FakeKubeApi, fakeDeployment, fakeLoadBalancer } from "./harness/fakeKubeApi";
import { tsbBaselineProvider, tsbReadyGateProvider, type BaselineInputs, type GateInputs } from "../components/deploymentReadyGate";
import { frontEnvoyAddressProvider, type AddressInputs } from "../components/frontEnvoyAddress";
import type { DeploymentBaseline } from "../lib/gates/readyGate";
import { operatorSecretWaitProvider, type SecretWaitInputs } from "../components/operatorSecretWait";

const DEPLOYMENT = "/deployments/tsb";

// Serializing a provider takes over a second of this process's CPU (and stalls the stand-in API
// server meanwhile): do it once per provider and hand the text to each EngineDrivenResource.
const serialized = new Map<pulumi.dynamic.ResourceProvider, Promise<string>>();
async function engineDriven<In extends object>(provider: pulumi.dynamic.ResourceProvider): Promise<EngineDrivenResource<In>> {
  if (!serialized.has(provider)) serialized.set(provider, serializeAsEngine(provider));
  return new EngineDrivenResource<In>(provider, {}, await serialized.get(provider)!);
}
const SERVICE = "/services/envoy";
const SIGNING_KEY = "/secrets/iam-signing-key";

/** Waits (bounded) until `pred` holds; the provider process runs meanwhile. */
async function until(pred: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withApi(context: string, body: (api: FakeKubeApi) => Promise<void>): Promise<void> {
  const api = await FakeKubeApi.start({ context });
  try {
    await body(api);
  } finally {
    await api.close();
  }
}

const access = (api: FakeKubeApi) => ({ kubeconfig: api.kubeconfigText, context: api.context });
const baselineInputs = (api: FakeKubeApi, promotion = "mp1->mp2"): BaselineInputs => ({
  site: "mp2", promotion, ...access(api), namespace: "tsb", deployment: "tsb", requestTimeoutSeconds: 5,
});
const gateInputs = (api: FakeKubeApi, baseline: DeploymentBaseline, timeoutSeconds: number): GateInputs => ({
  ...baselineInputs(api), baseline, timeoutSeconds, pollSeconds: 0.3,
});

describe("cluster waits through the engine's provider process", { concurrency: true }, () => {
  it("the gate waits while tsb is missing or not ready, passes once a ready revision appears; a same-input up reads nothing", async () => {
    await withApi("mp2", async (api) => {
      const baseline = await engineDriven<BaselineInputs>(tsbBaselineProvider);
      const b = await baseline.create(baselineInputs(api));
      assert.deepEqual(b["observed"], { exists: false });
      assert.equal(api.count(DEPLOYMENT), 1, "one read, within its time even in a fresh provider process");

      const gate = await engineDriven<GateInputs>(tsbReadyGateProvider);
      const inputs = gateInputs(api, b["observed"], 25);
      const reads = api.count(DEPLOYMENT);
      const passed = gate.create(inputs);
      await until(() => api.count(DEPLOYMENT) >= reads + 2, "two reads of a missing tsb");
      api.inject({ kind: "status", code: 503 }, 1, /deployments/); // a blip is waited out
      api.set("deployments", "tsb", "tsb", fakeDeployment({ generation: 1, updatedReplicas: 1, readyReplicas: 0 }));
      const created = api.count(DEPLOYMENT);
      await until(() => api.count(DEPLOYMENT) >= created + 3, "reads of a tsb that is not ready");
      api.set("deployments", "tsb", "tsb", fakeDeployment({ generation: 1, updatedReplicas: 1, readyReplicas: 1 }));
      const state = await passed;
      assert.match(String(state["seen"]), /1 ready/);
      assert.ok(Number(state["polls"]) >= 6, `polled ${String(state["polls"])} times`);
      assert.ok(Number(state["elapsedSeconds"]) > 0);

      const before = api.requests.length;
      const again = await gate.up(inputs);
      assert.equal(again.changes, false);
      assert.equal(api.requests.length, before, "a re-run with the same inputs reads nothing");

      // The next failover to this site runs both again: the engine replaces them (as EngineDrivenResource.up does).
      for (const [provider, state, news] of [
        [tsbBaselineProvider, baseline.state, baselineInputs(api, "mp2->mp1->mp2")],
        [tsbReadyGateProvider, gate.state, { ...inputs, promotion: "mp2->mp1->mp2" }],
      ] as const) {
        const d = (await callInProviderProcess(await serialized.get(provider)!, "diff", ["id", state, news])) as { replaces?: string[] };
        assert.deepEqual(d.replaces, ["promotion"]);
      }
    });
  });

  it("the gate never passes on the pre-promotion object and times out naming the site, what it saw and what to check", async () => {
    await withApi("mp2-ctx", async (api) => {
      api.set("deployments", "tsb", "tsb", fakeDeployment({ generation: 3, updatedReplicas: 1, readyReplicas: 1 }));
      const b = await (await engineDriven<BaselineInputs>(tsbBaselineProvider)).create(baselineInputs(api));
      const inputs = gateInputs(api, b["observed"] as DeploymentBaseline, 6);
      await assert.rejects((await engineDriven<GateInputs>(tsbReadyGateProvider)).create(inputs), (e: Error) => {
        assert.match(e.message, /^site mp2: deployment tsb\/tsb did not become ready within 6 s of the promotion \(mp1->mp2\)/);
        assert.match(e.message, /same object at the same generation as before the promotion/);
        assert.match(e.message, /kubectl --context mp2-ctx -n tsb get deploy tsb/);
        assert.doesNotMatch(e.message, new RegExp(api.token), "no credential in the message");
        return true;
      });
      assert.ok(api.count(DEPLOYMENT) >= 3, "it kept reading until its timeout");
    });
  });

  it("a hung API server does not hang the gate: each read and the whole wait are bounded", async () => {
    await withApi("mp2", async (api) => {
      api.inject({ kind: "hang" });
      const gate = await engineDriven<GateInputs>(tsbReadyGateProvider);
      const started = Date.now();
      await assert.rejects(
        gate.create({ ...gateInputs(api, { exists: false }, 5), requestTimeoutSeconds: 1 }),
        /did not become ready within 5 s[\s\S]*Last seen: the last read failed: .*no answer within 1 s/,
      );
      // Unbounded, the first read would hang until the process is killed; bounded, it ends a few
      // seconds after its 5 s (a fresh provider process loads its client first; CI shares 2 cores).
      assert.ok(Date.now() - started < 30_000, "gave up near its timeout");
      assert.ok(api.count(DEPLOYMENT) >= 2, "it tried again after a read that hung");
    });
  });

  it("the address wait passes when the ingress appears; same inputs change nothing; refresh re-reads", async () => {
    await withApi("mp1", async (api) => {
      api.set("services", "tsb", "envoy", fakeLoadBalancer([]));
      const inputs: AddressInputs = { site: "mp1", ...access(api), namespace: "tsb", service: "envoy", timeoutSeconds: 25, pollSeconds: 0.3, requestTimeoutSeconds: 5 };
      const r = await engineDriven<AddressInputs>(frontEnvoyAddressProvider);
      const created = r.create(inputs);
      await until(() => api.count(SERVICE) >= 2, "reads of a service without an address");
      api.set("services", "tsb", "envoy", fakeLoadBalancer([{ hostname: "lb-1.elb.example.com" }]));
      const state = await created;
      assert.equal(state["address"], "lb-1.elb.example.com");
      assert.equal(state["recordType"], "CNAME");

      const before = api.requests.length;
      assert.equal((await r.up(inputs)).changes, false);
      assert.equal(api.requests.length, before, "a re-run with the same inputs reads nothing");

      api.set("services", "tsb", "envoy", fakeLoadBalancer([{ ip: "203.0.113.9" }]));
      const refreshed = await r.refresh();
      assert.equal(refreshed?.["address"], "203.0.113.9");
      assert.equal(refreshed?.["recordType"], "A");
    });
  });

  it("the address wait times out with what to do when no ingress appears", async () => {
    await withApi("mp1", async (api) => {
      api.set("services", "tsb", "envoy", fakeLoadBalancer([]));
      const inputs: AddressInputs = { site: "mp1", ...access(api), namespace: "tsb", service: "envoy", timeoutSeconds: 5, pollSeconds: 0.5, requestTimeoutSeconds: 2 };
      await assert.rejects((await engineDriven<AddressInputs>(frontEnvoyAddressProvider)).create(inputs), (e: Error) => {
        assert.match(e.message, /^site mp1: tsb\/envoy got no load balancer address within 5 s\. Last seen: service tsb\/envoy \(type LoadBalancer\) has no ingress address yet/);
        assert.match(e.message, /sites\.mp1\.address/);
        return true;
      });
    });
  });

});

// After the block above, not beside it: each test here serializes a provider, which stalls this
// process (and so the stand-in API server) for a second, and the timing tests above read with 1 s bounds.
describe("cluster waits: refused credentials and the operator's Secrets", () => {
  const keyInputs = (api: FakeKubeApi, over: Partial<SecretWaitInputs> = {}): SecretWaitInputs => ({
    site: "mp1", ...access(api), namespace: "tsb", secret: "iam-signing-key", promotion: "install", timeoutSeconds: 25, pollSeconds: 0.3, requestTimeoutSeconds: 5, ...over,
  });
  const keyData = { kid: Buffer.from("kid-1").toString("base64"), "private.key": Buffer.from("-----BEGIN PRIVATE KEY-----\nsecret-key-material\n").toString("base64") };

  it("the key wait reads until the operator has made the Secret with data, keeps no key material, and a same-input up reads nothing", async () => {
    await withApi("mp1", async (api) => {
      const w = await engineDriven<SecretWaitInputs>(operatorSecretWaitProvider);
      const inputs = keyInputs(api);
      const created = w.create(inputs);
      await until(() => api.count(SIGNING_KEY) >= 2, "reads of a missing Secret");
      api.set("secrets", "tsb", "iam-signing-key", { type: "Opaque" }); // made, not yet written
      const empty = api.count(SIGNING_KEY);
      await until(() => api.count(SIGNING_KEY) >= empty + 2, "reads of a Secret without data");
      api.inject({ kind: "status", code: 503 }, 1, /secrets/); // a blip is waited out
      api.set("secrets", "tsb", "iam-signing-key", { type: "Opaque", data: keyData });
      const state = await created;
      assert.equal(state["ref"], "tsb/iam-signing-key", "the ID the program's read takes");
      assert.deepEqual(state["dataKeys"], ["kid", "private.key"]);
      assert.ok(Number(state["polls"]) >= 5, `polled ${String(state["polls"])} times`);
      assert.ok(!JSON.stringify(state).includes(keyData["private.key"]) && !JSON.stringify(state).includes("secret-key-material"), "no key material in state");

      const before = api.requests.length;
      assert.equal((await w.up(inputs)).changes, false);
      assert.equal((await w.up({ ...inputs, timeoutSeconds: 900, requestTimeoutSeconds: 9 })).changes, true, "a setting is stored");
      assert.equal(w.state?.["ref"], "tsb/iam-signing-key");
      assert.equal(await w.refresh().then((s) => s?.["ref"]), "tsb/iam-signing-key");
      assert.equal(api.requests.length, before, "no up with the same identity, no settings update and no refresh reads the cluster");
      const again = await w.up({ ...inputs, timeoutSeconds: 900, requestTimeoutSeconds: 9, promotion: "mp2->mp1" });
      assert.deepEqual(again.replaces, ["promotion"], "a new promotion waits again");
    });
  });

  it("the ready gate and the address wait stop at once on refused credentials, in the provider process too", async () => {
    await withApi("mp1", async (api) => {
      api.inject({ kind: "status", code: 403 }, 1, /deployments/);
      await assert.rejects((await engineDriven<GateInputs>(tsbReadyGateProvider)).create(gateInputs(api, { exists: false }, 20)), /the ready gate cannot read tsb\/tsb: .*403/);
      assert.equal(api.count(DEPLOYMENT), 1, "not read again");
      api.inject({ kind: "status", code: 401 }, 1, /services/);
      const inputs: AddressInputs = { site: "mp1", ...access(api), namespace: "tsb", service: "envoy", timeoutSeconds: 20, pollSeconds: 0.3, requestTimeoutSeconds: 5 };
      await assert.rejects((await engineDriven<AddressInputs>(frontEnvoyAddressProvider)).create(inputs), /cannot read tsb\/envoy: .*401.*credentials of the site's kubeconfig were refused/);
      assert.equal(api.count(SERVICE), 1);
    });
  });

  it("the key wait times out naming the Secret, the site and what to check, and stops at once on refused credentials", async () => {
    await withApi("mp1-ctx", async (api) => {
      await assert.rejects((await engineDriven<SecretWaitInputs>(operatorSecretWaitProvider)).create(keyInputs(api, { timeoutSeconds: 4, pollSeconds: 0.5 })), (e: Error) => {
        assert.match(e.message, /^site mp1: Secret tsb\/iam-signing-key was not made within 4 s \(\d+ reads\)\. Last seen: Secret tsb\/iam-signing-key does not exist yet\./);
        assert.match(e.message, /kubectl --context mp1-ctx -n tsb logs -l name=tsb-operator/);
        assert.doesNotMatch(e.message, new RegExp(api.token), "no credential in the message");
        return true;
      });
      api.inject({ kind: "status", code: 403 }, 1, /secrets/);
      const reads = api.count(SIGNING_KEY);
      await assert.rejects((await engineDriven<SecretWaitInputs>(operatorSecretWaitProvider)).create(keyInputs(api)), /^Error: site mp1: cannot read Secret tsb\/iam-signing-key: .*403.*grant it get/);
      assert.equal(api.count(SIGNING_KEY) - reads, 1, "a refusal is not retried");
    });
  });
});
