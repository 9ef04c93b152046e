// Failover step 3b: does the promoted site's TSB API serve the set's organisation? Plain answers in,
// a pass (with counts for the log) or one message that says where and what to check.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decideApiVerification, organizationName, type ApiReply, type VerifyInput } from "../../lib/gates/tsbVerify";

const ORG = "tetrate";
const URL_ = "https://mp2.tsb.example.test:443/v2/organizations/tetrate";
const ok = (body: unknown): ApiReply => ({ status: 200, body, summary: JSON.stringify(body) });
const answered = (status: number, summary: string): ApiReply => ({ status, body: {}, summary });
const input = (p: Partial<VerifyInput>): VerifyInput => ({
  site: "mp2", url: URL_, organization: ORG, org: ok({ fqn: `organizations/${ORG}` }), tenants: ok({ tenants: [{}] }), clusters: ok({ clusters: [{}, {}] }), ...p,
});
/** The message of a refusal (fails the test on a pass). */
function refusal(p: Partial<VerifyInput>): string {
  const r = decideApiVerification(input(p));
  assert.equal(r.ok, false, "expected a refusal");
  return r.ok ? "" : r.message;
}

describe("decideApiVerification", () => {
  it("passes with the organisation and its counts, in one line for the log", () => {
    assert.deepEqual(decideApiVerification(input({})), {
      ok: true, organization: ORG, tenants: 1, clusters: 2,
      summary: `site mp2: TSB API at ${URL_} serves organization tetrate with 1 tenant(s) and 2 cluster(s)`,
    });
  });

  it("every refusal names the site and URL, says DNS did not move, and how to skip the check", () => {
    const m = refusal({ org: answered(500, "boom") });
    assert.match(m, /^site mp2: TSB API verification failed at https:\/\/mp2\.tsb\.example\.test:443\/v2\/organizations\/tetrate: /);
    assert.match(m, /\. The floating name was not moved\. Check on the site that the promotion completed .*set tsb-ha:tsb\.verifyApi false\.$/);
  });

  it("refuses a 404 as a missing organisation, and any other status with the status", () => {
    assert.match(refusal({ org: answered(404, "not found") }), /: the API answers but has no organization "tetrate" \(404: not found\)\. /);
    assert.match(refusal({ org: answered(503, "unavailable") }), /: getting the organization answered 503: unavailable\. /);
  });

  it("refuses another organisation or an answer without a name, quoting what came back", () => {
    assert.match(refusal({ org: ok({ fqn: "organizations/other" }) }), /: expected organization "tetrate", the API answered "other" \(\{"fqn":"organizations\/other"\}\)\. /);
    assert.match(refusal({ org: ok({}) }), /: expected organization "tetrate", the API answered without an organization name \(\{\}\)\. /);
  });

  it("refuses a tenant or cluster list that failed or is not a list, naming which", () => {
    assert.match(refusal({ tenants: answered(403, "denied") }), /: listing tenants answered 403: denied\. /);
    assert.match(refusal({ clusters: answered(500, "x") }), /: listing clusters answered 500: x\. /);
    assert.match(refusal({ tenants: ok({ tenants: "x" }) }), /: listing tenants answered a "tenants" member that is not a list: /);
    assert.match(refusal({ clusters: ok({ clusters: {} }) }), /: listing clusters answered a "clusters" member that is not a list: /);
    for (const body of [null, [], "text"]) {
      assert.match(refusal({ clusters: ok(body) }), /: listing clusters answered something that is not a JSON object: /, JSON.stringify(body));
    }
  });

  it("counts a list the gateway omitted as zero", () => {
    const r = decideApiVerification(input({ tenants: ok({}), clusters: ok({ tenants: [{}] }) }));
    assert.deepEqual(r.ok && [r.tenants, r.clusters], [0, 0], "each list is read under its own key");
  });
});

describe("organizationName", () => {
  it("reads the name from fqn organizations/<name>, else from name", () => {
    assert.equal(organizationName({ fqn: "organizations/tetrate", name: "ignored" }), "tetrate");
    assert.equal(organizationName({ name: "tetrate" }), "tetrate");
    assert.equal(organizationName({ fqn: "organizations/tetrate/tenants/t1", name: "fallback" }), "fallback", "a tenant's fqn is not an organisation's");
    assert.equal(organizationName({ fqn: "xorganizations/tetrate" }), undefined);
  });

  it("has no name for an empty name, a non-text fqn or name, or a body that is not an object", () => {
    assert.equal(organizationName({ name: "" }), undefined);
    assert.equal(organizationName({ fqn: 7, name: 7 }), undefined);
    assert.equal(organizationName(null), undefined);
    assert.equal(organizationName("organizations/tetrate"), undefined);
  });
});
