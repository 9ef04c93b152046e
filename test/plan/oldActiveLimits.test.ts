// Time limits on the old active and the manual fence the engineer is sent to.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fenceByHandCommands, oldActiveLimits, oldActiveTimeoutMessage } from "../../lib/plan/oldActiveLimits";

describe("old active limits", () => {
  it("bounds each patch's await by the fence timeout and each request by a quarter of it", () => {
    const l = oldActiveLimits(120);
    assert.deepEqual(l.customTimeouts, { create: "120s", update: "120s", delete: "120s" });
    assert.equal(l.requestTimeoutSeconds, 30);
    assert.ok(oldActiveLimits(10).requestTimeoutSeconds >= 5, "a request never gets less than 5 s");
  });

  it("fences by hand in the failover's order: operator, tsb, iam; envoy only as the cut", () => {
    const { fence, cut } = fenceByHandCommands({ context: "mp1" });
    assert.deepEqual(fence.map((c) => c.split(" ").at(-2)), ["tsb-operator-management-plane", "tsb", "iam"]);
    assert.deepEqual(cut.map((c) => c.split(" ").at(-2)), ["envoy"]);
    for (const c of [...fence, ...cut]) assert.match(c, /^kubectl --request-timeout=30s --context mp1 -n tsb scale deployment \S+ --replicas=0$/);
  });

  it("stops the database by hand: its kubegres controller first, then every Postgres StatefulSet", () => {
    assert.deepEqual(fenceByHandCommands({ context: "mp1" }).database, [
      "kubectl --request-timeout=30s --context mp1 -n tsb scale deployment kubegres-controller-manager --replicas=0",
      "kubectl --request-timeout=30s --context mp1 -n tsb scale statefulset -l app=tsb-postgres --replicas=0",
    ]);
    assert.match(fenceByHandCommands({ kubeconfigPath: "/k" }).database[1]!, /^kubectl --request-timeout=30s --kubeconfig \/k -n tsb scale statefulset/);
  });

  it("quotes a kubeconfig path with spaces and omits what is not set", () => {
    assert.match(fenceByHandCommands({ kubeconfigPath: "/home/me/my configs/mp1" }).fence[0]!, /--kubeconfig '\/home\/me\/my configs\/mp1' -n tsb/);
    assert.doesNotMatch(fenceByHandCommands({}).fence[0]!, /--context|--kubeconfig/);
  });

  it("tells the engineer to mark the site lost and fence it by hand", () => {
    const m = oldActiveTimeoutMessage("mp1", "scaling deployment tsb to 0", 120, { context: "mp1" });
    assert.match(m, /^site mp1 \(the old active, fenced\): scaling deployment tsb to 0 got no answer within 120 s/);
    assert.match(m, /Mark the site lost and fence it by hand:/);
    assert.match(m, /pulumi config set --path 'tsb-ha:sites\.mp1\.state' lost/);
    const lines = m.split("\n");
    const at = (d: string) => lines.findIndex((l) => l.includes(`scale deployment ${d} `));
    assert.ok(at("tsb-operator-management-plane") < at("tsb") && at("tsb") < at("iam") && at("iam") < at("kubegres-controller-manager") && at("kubegres-controller-manager") < at("envoy"));
    const db = lines.findIndex((l) => l.includes("scale statefulset -l app=tsb-postgres"));
    assert.ok(at("kubegres-controller-manager") < db && db < at("envoy"), "the database after its controller, before the cut");
    assert.equal(lines[at("kubegres-controller-manager") - 1], "and stop its database (it keeps writing WAL and serving standbys):");
  });
});
