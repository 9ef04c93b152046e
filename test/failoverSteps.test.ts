// The failover in words (what a preview logs): pure, over plans of the set.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../lib/config";
import { planSet } from "../lib/topology";
import { describePlan, failoverSteps } from "../lib/failoverSteps";
import { baseConfig } from "./fixtures";

const cfgOf = (over: Record<string, unknown>) => parseConfig(Object.fromEntries(Object.entries(baseConfig(over)).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])), new Set(["standbyServiceAccountJwk"])).config;
const THREE = { mp1: { context: "c1" }, mp2: {}, mp3: {} };
const start = cfgOf({ sites: THREE });
const history = planSet(start).history;

describe("failover steps in words", () => {
  it("fenced: fence, wait for the final WAL position, promote, gate, verify, move, cut, re-point, with the configured limits", () => {
    const cfg = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { context: "c1", state: "fenced" } }, dns: { provider: "route53", zoneId: "z", ttl: 45 } });
    const steps = failoverSteps(planSet(cfg, history), cfg);
    assert.deepEqual(steps.map((s) => s.name), ["preflight", "fence mp1", "replication gate mp2", "promote mp2", "ready gate mp2", "verify mp2", "move floating name", "cut mp1", "re-point standbys"]);
    assert.match(steps[1]!.words, /tsb-operator-management-plane, then tsb and iam on mp1 to 0 replicas \(each call bounded by 120 s\)/);
    assert.match(steps[2]!.words, /read mp1's final WAL position and wait up to 120 s until mp2 has replayed it; refuse otherwise; refuse if mp3 holds more WAL than mp2/);
    assert.match(steps[6]!.words, /CNAME active\.tsb\.example\.com: mp1\.tsb\.example\.com -> mp2\.tsb\.example\.com, then wait one TTL \(45 s\)/);
    const lines = describePlan(planSet(cfg, history), cfg);
    assert.equal(lines[0], "Failover mp1 -> mp2 (9 steps):");
    assert.match(lines[lines.length - 1]!, /^If a call to mp1 fails or times out: Mark the site lost and fence it by hand: .*kubectl --request-timeout=30s --context c1 -n tsb scale deployment tsb-operator-management-plane --replicas=0/);
  });

  it("lost: no fence and no cut, the staleness rule, and the accepted loss named when it matches this failover", () => {
    const cfg = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "lost" } }, replication: { acceptDataLoss: "mp1->mp2" } });
    const steps = failoverSteps(planSet(cfg, history), cfg);
    assert.deepEqual(steps.map((s) => s.name), ["preflight", "skip fence mp1", "replication gate mp2", "promote mp2", "ready gate mp2", "verify mp2", "move floating name", "re-point standbys"]);
    assert.match(steps[2]!.words, /refuse if mp2 last heard from mp1 more than 300 s ago \(accepted for this failover: replication\.acceptDataLoss\)/);
    const other = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "lost" } }, replication: { acceptDataLoss: "mp3->mp2" } });
    assert.doesNotMatch(failoverSteps(planSet(other, history), other)[2]!.words, /accepted/, "an acceptance for another failover does not apply");
  });

  it("says when the API check is off, and says one line when there is no failover", () => {
    const cfg = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "fenced" } }, tsb: { version: "1.12.4", registry: "r.example.com/t", organization: "tetrate", verifyApi: false } });
    assert.match(failoverSteps(planSet(cfg, history), cfg).find((s) => s.name === "verify mp2")!.words, /^skipped \(tsb\.verifyApi is false\)/);
    assert.deepEqual(describePlan(planSet(start, history), start), ["No failover in this update: mp1 stays the active."]);
  });
});
