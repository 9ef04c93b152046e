// Which address a site's permanent record gets from the front envoy's Service.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addressTimeoutMessage, frontAddress } from "../../lib/gates/frontAddress";
import { fakeLoadBalancer } from "../harness/fakeKubeApi";

const pick = (ingress: Array<{ ip?: string; hostname?: string }>, type?: string) => frontAddress(fakeLoadBalancer(ingress, type), "tsb/envoy");

describe("front envoy address", () => {
  it("says not yet while the Service is missing", () => {
    const a = frontAddress(undefined, "tsb/envoy");
    assert.equal(a.found, false);
    assert.match(a.seen, /does not exist/);
  });

  it("says not yet for a null Service (a 404 read as null)", () => {
    assert.deepEqual(frontAddress(null, "tsb/envoy"), { found: false, seen: "service tsb/envoy does not exist yet" });
  });

  it("says not yet while a new LoadBalancer Service has no status, or a null one", () => {
    for (const status of [undefined, null, { loadBalancer: null }, { loadBalancer: { ingress: null } }]) {
      const a = frontAddress({ spec: { type: "LoadBalancer" }, ...(status === undefined ? {} : { status }) }, "tsb/envoy");
      assert.equal(a.found, false, JSON.stringify(status));
      assert.match(a.seen, /\(type LoadBalancer\) has no ingress address yet/);
    }
  });

  it("reads a Service without spec.type as ClusterIP (the API's default)", () => {
    const a = frontAddress({ spec: {}, status: {} }, "tsb/envoy");
    assert.match(a.seen, /^service tsb\/envoy is of type ClusterIP, so no load balancer will give it an address/);
  });

  it("skips empty and wrongly typed fields instead of publishing them", () => {
    const a = frontAddress({ spec: { type: "LoadBalancer" }, status: { loadBalancer: { ingress: [{ ip: ["203.0.113.7"], hostname: "" }, { hostname: "lb.example.net" }] } } }, "tsb/envoy");
    assert.deepEqual(a.found && [a.address, a.recordType], ["lb.example.net", "CNAME"]);
  });

  it("says not yet while the load balancer has no ingress", () => {
    const a = pick([]);
    assert.equal(a.found, false);
    assert.match(a.seen, /no ingress address yet/);
  });

  it("says why no address will come for a Service that is not a LoadBalancer", () => {
    const a = pick([], "NodePort");
    assert.equal(a.found, false);
    assert.match(a.seen, /type NodePort.*sites\.<site>\.address/);
  });

  it("gives an IPv4 address an A record", () => {
    assert.deepEqual(pick([{ ip: "203.0.113.7" }]), { found: true, address: "203.0.113.7", recordType: "A", seen: "service tsb/envoy has ingress 203.0.113.7 (A record)" });
  });

  it("gives an IPv6 address an AAAA record", () => {
    const a = pick([{ ip: "2001:db8::7" }]);
    assert.equal(a.found && a.recordType, "AAAA");
  });

  it("gives a hostname (AWS ELB/NLB) a CNAME, without a trailing dot", () => {
    const a = pick([{ hostname: "abc-123.elb.us-east-1.amazonaws.com." }]);
    assert.ok(a.found);
    assert.equal(a.address, "abc-123.elb.us-east-1.amazonaws.com");
    assert.equal(a.recordType, "CNAME");
  });

  it("prefers an IPv4 address over IPv6 and a hostname, whatever their order", () => {
    const a = pick([{ hostname: "lb.example.net" }, { ip: "2001:db8::7" }, { ip: "198.51.100.1" }]);
    assert.ok(a.found);
    assert.equal(a.address, "198.51.100.1");
  });

  it("ignores an entry that is not an IP where the ip field should be one", () => {
    const a = pick([{ ip: "not-an-ip" }, { hostname: "lb.example.net" }]);
    assert.ok(a.found);
    assert.equal(a.recordType, "CNAME");
  });

  it("tells how to go on without an address when the wait times out", () => {
    const m = addressTimeoutMessage("mp1", "tsb/envoy", 600, "service tsb/envoy (type LoadBalancer) has no ingress address yet", "ctx1");
    assert.match(m, /^site mp1: tsb\/envoy got no load balancer address within 600 s/);
    assert.match(m, /kubectl --context ctx1 -n tsb describe service envoy/);
    assert.match(m, /pulumi config set --path 'tsb-ha:sites\.mp1\.address'/);
    assert.equal(m.split("\n").length, 3, "one line per point");
    const noContext = addressTimeoutMessage("mp1", "tsb/envoy", 600, "x");
    assert.match(noContext, /\nCheck: kubectl -n tsb describe service envoy \(its events/);
  });
});
