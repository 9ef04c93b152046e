// One bounded GET against a stand-in API server over HTTPS (real CA, bearer token, kubeconfig file).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { kubeGet, kubePaths } from "../../lib/clients/kubeRead";
import { FakeKubeApi, fakeLoadBalancer } from "../harness/fakeKubeApi";

describe("kubeGet", () => {
  let api: FakeKubeApi;
  before(async () => {
    api = await FakeKubeApi.start({ context: "mp1" });
  });
  after(async () => {
    await api.close();
  });
  const svc = kubePaths.service("tsb", "envoy");

  it("returns the object as the API's JSON, with the kubeconfig's CA and token", async () => {
    api.set("services", "tsb", "envoy", fakeLoadBalancer([{ ip: "203.0.113.1" }]));
    const r = await kubeGet({ kubeconfig: api.kubeconfigPath, context: "mp1" }, "mp1", svc, 5000);
    assert.ok(r.found);
    assert.deepEqual((r.object as { status: unknown }).status, { loadBalancer: { ingress: [{ ip: "203.0.113.1" }] } });
    assert.equal(api.requests.at(-1)?.authorized, true);
  });

  it("says not found on the API's 404 Status", async () => {
    assert.deepEqual(await kubeGet({ kubeconfig: api.kubeconfigText }, "mp1", kubePaths.deployment("tsb", "missing"), 5000), { found: false });
  });

  it("refuses a certificate from another CA", async () => {
    const other = await FakeKubeApi.start();
    try {
      const mixed = api.kubeconfigText.replace(/server: .*/, `server: ${other.url}`);
      await assert.rejects(kubeGet({ kubeconfig: mixed }, "mp1", svc, 5000), /certificate/i);
      assert.equal(other.requests.length, 0, "nothing was sent to it");
    } finally {
      await other.close();
    }
  });

  it("stops on refused credentials with what to check, never showing the token", async () => {
    const wrong = api.kubeconfigText.replace(api.token, "not-the-token");
    await assert.rejects(kubeGet({ kubeconfig: wrong }, "mp1", svc, 5000), (e: Error) => {
      assert.equal(e.name, "KubeAccessDenied");
      assert.match(e.message, /answered 401 .*credentials .* were refused/);
      assert.doesNotMatch(e.message, /not-the-token/);
      return true;
    });
  });

  it("reports a 5xx with the API server's message", async () => {
    api.inject({ kind: "status", code: 503, message: "etcd leader changed" }, 1);
    await assert.rejects(kubeGet({ kubeconfig: api.kubeconfigPath }, "mp1", svc, 5000), /answered 503 \(etcd leader changed\)/);
  });

  it("gives up on a server that never answers within its time", async () => {
    api.inject({ kind: "hang" }, 1);
    const started = Date.now();
    await assert.rejects(kubeGet({ kubeconfig: api.kubeconfigPath }, "mp1", svc, 800), /no answer within 1 s/);
    assert.ok(Date.now() - started < 3000);
  });

  it("does not quote inline kubeconfig contents it cannot parse", async () => {
    const broken = "apiVersion: v1\nclusters: [\n  token: s3cr3t-value";
    await assert.rejects(kubeGet({ kubeconfig: broken }, "mp1", svc, 5000), (e: Error) => {
      assert.match(e.message, /kubeconfig contents \(not shown\)/);
      assert.doesNotMatch(e.message, /s3cr3t/);
      return true;
    });
  });
});
