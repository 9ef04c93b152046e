// Failover preflight: the promoted site must hold the old active's IAM signing key (same kid) and a
// tsb-iam-jwks, or the failover stops before anything is fenced.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jwksProblem, keyProblem, kidOf, preflightProblem, type KeyEvidence } from "../../lib/gates/preflight";

/** Secret data as the API returns it: base64 values. */
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const keyOn = (site: string, kid: string | undefined): KeyEvidence => ({
  site,
  signingKeyData: kid === undefined ? { "private.key": b64("PEM") } : { kid: b64(kid), "private.key": b64("PEM") },
});
const JWKS = { "jwks.json": b64('{"keys":[]}') };

describe("kidOf", () => {
  it("decodes the kid of a Secret's base64 data, without surrounding whitespace", () => {
    assert.equal(kidOf({ kid: b64("kid-1") }), "kid-1");
    assert.equal(kidOf({ kid: b64("  kid-1\n") }), "kid-1", "a kid written with echo keeps its newline");
  });

  it("has no kid for a missing Secret, a missing or empty key, or only whitespace", () => {
    assert.equal(kidOf(undefined), undefined);
    assert.equal(kidOf({}), undefined);
    assert.equal(kidOf({ kid: "" }), undefined);
    assert.equal(kidOf({ kid: b64(" \n") }), undefined);
  });
});

describe("preflightProblem", () => {
  it("lets the failover start when both sites hold the same kid and the JWKS exists", () => {
    assert.equal(preflightProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-1"), JWKS), undefined);
  });

  it("lets the failover from a lost site start on the promoted site's own evidence", () => {
    assert.equal(preflightProblem(undefined, keyOn("mp2", "kid-1"), JWKS), undefined);
  });

  it("stops when the promoted site's key has no kid, before anything is fenced", () => {
    const p = preflightProblem(keyOn("mp1", "kid-1"), keyOn("mp2", undefined), JWKS);
    assert.match(p ?? "", /^iam-signing-key on mp2 has no kid\. Nothing was fenced\. Copy the key from the old active .*docs\/failover\.md "Preflight failed"$/);
    assert.match(preflightProblem(undefined, { site: "mp2", signingKeyData: undefined }, JWKS) ?? "", /^iam-signing-key on mp2 has no kid/, "no Secret at all");
  });

  it("stops when the promoted site has no JWKS yet, and says where to look", () => {
    for (const jwks of [undefined, {}]) {
      const p = preflightProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-1"), jwks);
      assert.match(p ?? "", /^tsb-iam-jwks on mp2 is empty\. Nothing was fenced\. .*kubectl logs -n tsb -l name=tsb-operator\) .*"Preflight failed"$/, JSON.stringify(jwks));
    }
  });

  it("stops when the kids differ, naming both, since the old active's tokens would be rejected", () => {
    const p = preflightProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-2"), JWKS);
    assert.match(p ?? "", /^iam-signing-key on mp2 \(kid kid-2\) differs from the one on mp1 \(kid kid-1\)\. Nothing was fenced\. Tokens issued by mp1 would be rejected after the failover\. Re-copy the key to mp2 and restart its iam deployment; see docs\/failover\.md "Preflight failed"$/);
  });

  it("stops when the old active's key has no kid to compare", () => {
    const p = preflightProblem(keyOn("mp1", undefined), keyOn("mp2", "kid-2"), JWKS);
    assert.match(p ?? "", /^iam-signing-key on mp2 \(kid kid-2\) differs from the one on mp1 \(kid none\)/);
  });
});

describe("the preflight's two halves (a preview compares the kids; the JWKS is read after its wait)", () => {
  it("keyProblem judges only the keys, jwksProblem only the JWKS; together they are preflightProblem, in its order", () => {
    assert.equal(keyProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-1")), undefined);
    assert.equal(keyProblem(undefined, keyOn("mp2", "kid-1")), undefined);
    assert.match(keyProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-2")) ?? "", /^iam-signing-key on mp2 \(kid kid-2\) differs/);
    assert.match(keyProblem(keyOn("mp1", "kid-1"), keyOn("mp2", undefined)) ?? "", /^iam-signing-key on mp2 has no kid/);
    assert.equal(jwksProblem("mp2", JWKS), undefined);
    for (const jwks of [undefined, {}]) assert.match(jwksProblem("mp2", jwks) ?? "", /^tsb-iam-jwks on mp2 is empty\. Nothing was fenced\./);
    // Order: no kid, then an empty JWKS, then a kid that differs.
    assert.equal(preflightProblem(keyOn("mp1", "kid-1"), keyOn("mp2", undefined), {}), keyProblem(keyOn("mp1", "kid-1"), keyOn("mp2", undefined)));
    assert.equal(preflightProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-2"), {}), jwksProblem("mp2", {}));
    assert.equal(preflightProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-2"), JWKS), keyProblem(keyOn("mp1", "kid-1"), keyOn("mp2", "kid-2")));
  });
});
