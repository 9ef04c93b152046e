// The Secrets TSB's operator makes after helm returned (lib/gates/operatorSecret.ts): what one read saw, and
// the stop when the operator did not make one in time. The wait itself runs as the engine runs it in
// test/clusterWaits.test.ts; a first install and a failover with a late operator in
// test/bootstrap.test.ts and test/failover.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { secretWaitTimeoutMessage, sightSecret, type SecretWaitFailure } from "../../lib/gates/operatorSecret";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("a Secret TSB's operator makes", () => {
  it("is made once it exists with data; its field names are told, never its values", () => {
    assert.deepEqual(sightSecret(undefined, "tsb/iam-signing-key"), { made: false, seen: "Secret tsb/iam-signing-key does not exist yet", dataKeys: [] });
    assert.deepEqual(sightSecret(null, "tsb/x"), { made: false, seen: "Secret tsb/x does not exist yet", dataKeys: [] });
    for (const object of [{ metadata: { name: "x" } }, { data: {} }, { data: null }, { data: ["a"] }, { data: "kid" }, [], "text"]) {
      assert.deepEqual(sightSecret(object, "tsb/x"), { made: false, seen: "Secret tsb/x exists but has no data yet", dataKeys: [] }, JSON.stringify(object));
    }
    const key = { data: { "private.key": b64("-----BEGIN PRIVATE KEY-----"), kid: b64("kid-1") } };
    const seen = sightSecret(key, "tsb/iam-signing-key");
    assert.deepEqual(seen, { made: true, seen: "Secret tsb/iam-signing-key exists (data: kid, private.key)", dataKeys: ["kid", "private.key"] });
    assert.ok(!JSON.stringify(seen).includes(key.data.kid), "no value");
  });

  const failure = (over: Partial<SecretWaitFailure> = {}): SecretWaitFailure => ({
    site: "mp1", namespace: "tsb", secret: "iam-signing-key", promotion: "install", timeoutSeconds: 600, polls: 121, lastSeen: "Secret tsb/iam-signing-key does not exist yet", context: "mp1-ctx", ...over,
  });

  it("the active's key: names the Secret, the site, what waited for it, what to check, and how to go on", () => {
    const lines = secretWaitTimeoutMessage(failure()).split("\n");
    assert.deepEqual(lines, [
      "site mp1: Secret tsb/iam-signing-key was not made within 600 s (121 reads). Last seen: Secret tsb/iam-signing-key does not exist yet.",
      "TSB's operator makes it while it reconciles the ManagementPlane, after helm has returned; the standbys' copies (and so their releases) wait for it, and none was written. " +
        "Check TSB's operator on mp1: kubectl --context mp1-ctx -n tsb logs -l name=tsb-operator --tail=100; kubectl --context mp1-ctx -n tsb get managementplane managementplane -o yaml (status); kubectl --context mp1-ctx -n tsb get secret iam-signing-key.",
      "Then run pulumi up again: the release is in place and the next update waits again (tsb.readyTimeoutSeconds bounds the wait: pulumi config set --path 'tsb-ha:tsb.readyTimeoutSeconds' <seconds>).",
    ]);
    const noContext = failure();
    delete noContext.context;
    assert.match(secretWaitTimeoutMessage(noContext), /Check TSB's operator on mp1: kubectl -n tsb logs -l name=tsb-operator --tail=100; kubectl -n tsb get managementplane/);
  });

  it("the new active's JWKS: a refused failover before anything was fenced", () => {
    const lines = secretWaitTimeoutMessage(failure({ site: "mp2", secret: "tsb-iam-jwks", promotion: "mp1->mp2", timeoutSeconds: 60, polls: 13, lastSeen: "Secret tsb/tsb-iam-jwks exists but has no data yet", context: "east" })).split("\n");
    assert.deepEqual(lines, [
      "Failover mp1 -> mp2 refused: site mp2: Secret tsb/tsb-iam-jwks was not made within 60 s (13 reads). Last seen: Secret tsb/tsb-iam-jwks exists but has no data yet. Nothing was fenced.",
      "The standby's operator generates it from iam-signing-key (seed, \"Import the Secrets\"). Check TSB's operator on mp2: kubectl --context east -n tsb logs -l name=tsb-operator --tail=100; " +
        "kubectl --context east -n tsb get managementplane managementplane -o yaml (status); kubectl --context east -n tsb get secret tsb-iam-jwks.",
      "Run pulumi up again once it exists (npm run readiness -- --target mp2 checks it).",
    ]);

  });
});
