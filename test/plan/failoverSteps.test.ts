// The failover in words (what a preview logs): pure, over plans of the set.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/config";
import { planSet } from "../../lib/plan/topology";
import { describePlan, failoverSteps } from "../../lib/plan/failoverSteps";
import { baseConfig } from "../fixtures";

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
    assert.equal(steps[2]!.words, "wait up to 120 s until mp2 holds mp1's WAL, stop mp1's database cleanly (kubegres-controller-manager, then its Postgres StatefulSets to 0; " +
      "bounded by 120 s; it stays stopped), then require mp1's shutdown checkpoint as mp2's last WAL record; refuse otherwise; refuse if mp3 holds more WAL than mp2");
    assert.match(steps[6]!.words, /CNAME active\.tsb\.example\.com: mp1\.tsb\.example\.com -> mp2\.tsb\.example\.com, then wait one TTL \(45 s\)/);
    const lines = describePlan(planSet(cfg, history), cfg);
    assert.equal(lines[0], "Failover mp1 -> mp2 (9 steps):");
    assert.match(lines[lines.length - 1]!, /^If a call to mp1 fails or times out: Mark the site lost and fence it by hand: .*kubectl --request-timeout=30s --context c1 -n tsb scale deployment tsb-operator-management-plane --replicas=0/);
  });

  it("lost: no fence and no cut, the staleness rule, and the accepted loss named when it matches this failover", () => {
    const cfg = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "lost" } }, replication: { acceptDataLoss: "mp1->mp2" } });
    const steps = failoverSteps(planSet(cfg, history), cfg);
    assert.deepEqual(steps.map((s) => s.name), ["preflight", "skip fence mp1", "replication gate mp2", "promote mp2", "ready gate mp2", "verify mp2", "move floating name", "re-point standbys"]);
    assert.match(steps[2]!.words, /refuse if mp2 last heard from mp1 more than 300 s ago through a streaming receiver, or holds WAL of another timeline \(accepted for this failover: replication\.acceptDataLoss\)/);
    const other = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "lost" } }, replication: { acceptDataLoss: "mp3->mp2" } });
    assert.doesNotMatch(failoverSteps(planSet(other, history), other)[2]!.words, /accepted/, "an acceptance for another failover does not apply");
  });

  it("says when the API check is off, and says one line when there is no failover", () => {
    const cfg = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "fenced" } }, tsb: { version: "1.12.4", registry: "r.example.com/t", organization: "tetrate", verifyApi: false } });
    assert.match(failoverSteps(planSet(cfg, history), cfg).find((s) => s.name === "verify mp2")!.words, /^skipped \(tsb\.verifyApi is false\)/);
    assert.deepEqual(describePlan(planSet(start, history), start), ["No failover in this update: mp1 stays the active."]);
  });
});

describe("failover steps: every sentence names what a reviewer checks", () => {
  const fencedCfg = (over: Record<string, unknown> = {}) =>
    cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { context: "c1", state: "fenced" } }, dns: { provider: "route53", zoneId: "z", ttl: 45 }, ...over });

  it("fenced: the preflight compares with the old active's key; promote, ready gate, verify, cut and re-point name their site, limit and address", () => {
    const cfg = fencedCfg({ tsb: { version: "1.12.4", registry: "r.example.com/t", organization: "acme", frontEnvoyPort: 8443, readyTimeoutSeconds: 900 } });
    const words = Object.fromEntries(failoverSteps(planSet(cfg, history), cfg).map((s) => [s.name, s.words]));
    assert.equal(words["preflight"], "check that mp2's iam-signing-key has the same kid as mp1's and that its tsb-iam-jwks exists (waiting up to 60 s for its operator to make it); a refusal changes nothing");
    assert.match(words["fence mp1"]!, /its release stays as it is$/);
    assert.equal(words["promote mp2"], "give mp2's release the active block (exposeEmbeddedPostgresInFrontEnvoy) instead of the standby block");
    assert.equal(words["ready gate mp2"], "wait up to 900 s until deployment tsb on mp2 has a ready pod of a revision made after the promotion");
    assert.equal(words["verify mp2"], "call mp2's TSB API at https://mp2.tsb.example.com:8443 (TLS against the set's root CA) and require organization acme");
    assert.equal(words["cut mp1"], "scale envoy on mp1 to 0 so control planes reconnect through the floating name");
    assert.equal(words["re-point standbys"], "mp3 synchronise from mp2.tsb.example.com once mp2 serves; each must stream from it on its new timeline within 300 s, or the update stops with its rebuild");
  });

  it("lost: the preflight compares with the set's key; the staleness limit is the configured one; no acceptance, no mention", () => {
    const cfg = cfgOf({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "lost" } }, replication: { maxLostContactSeconds: 90 } });
    const steps = failoverSteps(planSet(cfg, history), cfg);
    assert.match(steps[0]!.words, /the same kid as the set's and/);
    assert.equal(steps[1]!.words, "mp1 is lost: nothing on its cluster is read or changed");
    assert.equal(steps[2]!.words, "refuse if mp2 last heard from mp1 more than 90 s ago through a streaming receiver, or holds WAL of another timeline; refuse if mp3 holds more WAL than mp2");
    assert.ok(!describePlan(planSet(cfg, history), cfg).some((l) => l.startsWith("If a call to")), "nothing to fence by hand on a lost site");
  });

  it("several standbys: all named, plural verb; none: no standby clause and no re-point step", () => {
    const four = { ...THREE, mp4: {} };
    const cfg4 = cfgOf({ activeSite: "mp2", sites: { ...four, mp1: { context: "c1", state: "fenced" } } });
    const steps = failoverSteps(planSet(cfg4, planSet(cfgOf({ sites: four })).history), cfg4);
    assert.match(steps[2]!.words, /; refuse if mp3, mp4 hold more WAL than mp2$/);
    assert.match(steps.at(-1)!.words, /^mp3, mp4 synchronise from mp2\.tsb\.example\.com once mp2 serves; each must stream/);
    const two = { mp1: { context: "c1" }, mp2: {} };
    const cfg2 = cfgOf({ activeSite: "mp2", sites: { ...two, mp1: { context: "c1", state: "fenced" } } });
    const steps2 = failoverSteps(planSet(cfg2, planSet(cfgOf({ sites: two })).history), cfg2);
    assert.ok(!steps2.some((s) => s.name === "re-point standbys"));
    assert.match(steps2[2]!.words, /refuse otherwise$/);
    assert.equal(describePlan(planSet(cfg2, planSet(cfgOf({ sites: two })).history), cfg2)[0], `Failover mp1 -> mp2 (${steps2.length} steps):`);
  });

  it("the plan's lines number the steps and give each its name and words", () => {
    const cfg = fencedCfg();
    const plan = planSet(cfg, history);
    const steps = failoverSteps(plan, cfg);
    const lines = describePlan(plan, cfg);
    steps.forEach((s, i) => assert.equal(lines[i + 1], `  ${i + 1}. ${s.name}: ${s.words}`));
  });

  it("fence by hand: with the old active's kubeconfig path when it has one, never an inline kubeconfig", () => {
    const withPath = fencedCfg({ sites: { ...THREE, mp1: { kubeconfig: "/etc/kube/mp1.yaml", state: "fenced" } } });
    const last = describePlan(planSet(withPath, history), withPath).at(-1)!;
    assert.match(last, /kubectl --request-timeout=30s --kubeconfig \/etc\/kube\/mp1\.yaml -n tsb scale/);
    assert.doesNotMatch(last, /--context/);
    assert.doesNotMatch(last, /\n/, "one line");
    const inline = "apiVersion: v1\nkind: Config\nclusters: []\n";
    const raw = baseConfig({ activeSite: "mp2", sites: { ...THREE, mp1: { state: "fenced" } }, kubeconfigs: { mp1: inline } });
    const withInline = parseConfig(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])), new Set(["standbyServiceAccountJwk", "kubeconfigs"])).config;
    assert.equal(planSet(withInline, history).sites.find((s) => s.name === "mp1")?.config.kubeconfig, inline, "the inline contents reach the plan");
    const lastInline = describePlan(planSet(withInline, history), withInline).at(-1)!;
    assert.match(lastInline, /^If a call to mp1 fails or times out: Mark the site lost/);
    assert.doesNotMatch(lastInline, /--kubeconfig|apiVersion/);
  });
});
