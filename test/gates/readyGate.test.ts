// The ready gate's decision (failover step 3): when may DNS move to the promoted site?
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { baselineOf, describeBaseline, observeDeployment, readyGateDecision, readyGateTimeoutMessage, type DeploymentObservation } from "../../lib/gates/readyGate";
import { fakeDeployment } from "../harness/fakeKubeApi";

const UID = "0b7c6c1e-0000-4000-8000-000000000001";
/** A deployment as the API would return it, reduced as the gate reduces it. */
const seen = (s: Parameters<typeof fakeDeployment>[0]): DeploymentObservation => observeDeployment(fakeDeployment({ uid: UID, ...s }));
const ready = seen({ generation: 3, updatedReplicas: 1, readyReplicas: 1 });
const ABSENT = { exists: false };

describe("ready gate decision", () => {
  it("waits while deployment tsb is missing", () => {
    const d = readyGateDecision(ABSENT, { exists: false });
    assert.equal(d.pass, false);
    assert.match(d.seen, /does not exist/);
  });

  it("waits while the controller has not acted on the current generation", () => {
    const d = readyGateDecision(ABSENT, seen({ generation: 4, observedGeneration: 3, updatedReplicas: 1, readyReplicas: 1 }));
    assert.equal(d.pass, false);
    assert.match(d.seen, /generation 4.*observedGeneration 3/);
  });

  it("waits while only pods of an older revision run, even ready ones", () => {
    const d = readyGateDecision(ABSENT, seen({ generation: 4, updatedReplicas: 0, readyReplicas: 1 }));
    assert.equal(d.pass, false);
    assert.match(d.seen, /older revision/);
  });

  it("waits when the ready pod may be the old one (rollout half done)", () => {
    // 2 pods: 1 old (ready), 1 new (not ready yet).
    const d = readyGateDecision(ABSENT, seen({ generation: 4, specReplicas: 1, replicas: 2, updatedReplicas: 1, readyReplicas: 1 }));
    assert.equal(d.pass, false);
    assert.match(d.seen, /no ready pod of the current revision/);
  });

  it("passes in a rollout once more pods are ready than old pods exist", () => {
    const d = readyGateDecision(ABSENT, seen({ generation: 4, specReplicas: 1, replicas: 2, updatedReplicas: 1, readyReplicas: 2 }));
    assert.equal(d.pass, true);
  });

  it("waits at 0 replicas (the Deployment await would call that done)", () => {
    const d = readyGateDecision(ABSENT, seen({ generation: 2, specReplicas: 0, replicas: 0 }));
    assert.equal(d.pass, false);
    assert.match(d.seen, /scaled to 0/);
  });

  it("waits while no pod exists yet", () => {
    const d = readyGateDecision(ABSENT, seen({ generation: 1, specReplicas: 1, replicas: 0 }));
    assert.equal(d.pass, false);
    assert.match(d.seen, /no pods yet/);
  });

  it("waits while the current pod is not ready, and shows the Available condition", () => {
    const d = readyGateDecision(ABSENT, seen({ generation: 1, updatedReplicas: 1, readyReplicas: 0 }));
    assert.equal(d.pass, false);
    assert.match(d.seen, /0 ready; Available=False \(MinimumReplicasUnavailable\)/);
  });

  it("passes with a ready pod of the current revision when tsb was absent before the promotion", () => {
    const d = readyGateDecision(ABSENT, ready);
    assert.equal(d.pass, true);
    assert.match(d.seen, /generation 3.*1 ready/);
  });

  it("passes without a baseline (nothing to compare)", () => {
    assert.equal(readyGateDecision(undefined, ready).pass, true);
  });

  it("never passes on the unchanged pre-promotion object, ready as it is", () => {
    const d = readyGateDecision(baselineOf(ready), ready);
    assert.equal(d.pass, false);
    assert.match(d.seen, /same object at the same generation as before the promotion/);
  });

  it("passes once the pre-promotion object moved to a newer generation and is ready again", () => {
    const after = seen({ generation: 4, updatedReplicas: 1, readyReplicas: 1 });
    assert.equal(readyGateDecision(baselineOf(ready), after).pass, true);
  });

  it("passes when the object was recreated (new uid), even at the same generation", () => {
    const recreated = observeDeployment(fakeDeployment({ uid: "another-uid", generation: 3, updatedReplicas: 1, readyReplicas: 1 }));
    assert.equal(readyGateDecision(baselineOf(ready), recreated).pass, true);
  });

  it("passes when tsb was kept at 0 replicas before and now serves", () => {
    const before = baselineOf(seen({ generation: 5, specReplicas: 0, replicas: 0 }));
    assert.equal(readyGateDecision(before, seen({ generation: 6, updatedReplicas: 1, readyReplicas: 1 })).pass, true);
  });
});

describe("ready gate decision: what counts as the pre-promotion object", () => {
  const base = { exists: true, uid: UID, generation: 3, specReplicas: 1 };
  it("passes when tsb was at 0 replicas before, even if the generation did not move", () => {
    assert.equal(readyGateDecision({ ...base, specReplicas: 0 }, ready).pass, true);
  });

  it("without a uid on either side, still refuses the same generation", () => {
    const noUid = observeDeployment(fakeDeployment({ generation: 3, updatedReplicas: 1, readyReplicas: 1 }));
    assert.equal(readyGateDecision({ exists: true, generation: 3, specReplicas: 1 }, ready).pass, false, "baseline without uid");
    assert.equal(readyGateDecision(base, noUid).pass, false, "observation without uid");
    assert.equal(readyGateDecision(base, observeDeployment(fakeDeployment({ generation: 4, updatedReplicas: 1, readyReplicas: 1 }))).pass, true, "newer generation");
  });

  it("says what it saw: the deployment's name, generation, uid (or ?) and counts", () => {
    assert.match(readyGateDecision(ABSENT, { exists: false }).seen, /^deployment tsb\/tsb does not exist yet/);
    const noUid = observeDeployment(fakeDeployment({ generation: 3, updatedReplicas: 1, readyReplicas: 1 }));
    assert.match(readyGateDecision(ABSENT, noUid).seen, /^deployment tsb\/tsb generation 3 \(uid \?\): 1 of 1 pods of the current revision, 1 ready; Available=True \(MinimumReplicasAvailable\)$/);
  });

  it("shows the conditions that explain a wait (Available, Progressing, ReplicaFailure) and no others", () => {
    const stuck: DeploymentObservation = {
      exists: true, generation: 2, observedGeneration: 2, specReplicas: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 0,
      conditions: [
        { type: "Available", status: "False" },
        { type: "Progressing", status: "True", reason: "ReplicaSetUpdated" },
        { type: "Paused", status: "True", reason: "Hidden" },
        { type: "ReplicaFailure", status: "True", reason: "FailedCreate" },
      ],
    };
    assert.match(readyGateDecision(ABSENT, stuck).seen, /\(1 of 1 pods of the current revision, 0 ready; Available=False, Progressing=True \(ReplicaSetUpdated\), ReplicaFailure=True \(FailedCreate\)\)$/);
    const bare = readyGateDecision(ABSENT, { ...stuck, conditions: [{ type: "Paused", status: "True" }] });
    assert.match(bare.seen, /0 ready\)$/, "no condition to show: no trailing separator");
    assert.match(readyGateDecision(ABSENT, { ...stuck, conditions: undefined }).seen, /0 ready\)$/);
  });
});

describe("observing a deployment", () => {
  it("keeps each condition's type, status, reason and message; a status that is not text is Unknown", () => {
    const o = observeDeployment({ status: { availableReplicas: 2, conditions: [
      "not a condition", { status: "True" }, { type: 7 },
      { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: "ReplicaSet \"tsb-1\" has successfully progressed." },
      { type: "Available", status: false, reason: 3, message: null },
    ] } });
    assert.deepEqual(o.conditions, [
      { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: "ReplicaSet \"tsb-1\" has successfully progressed." },
      { type: "Available", status: "Unknown" },
    ]);
    assert.equal(o.availableReplicas, 2);
  });

  it("reads null parts and numbers that are not finite as absent", () => {
    assert.deepEqual(observeDeployment({ metadata: null, spec: null, status: null }), observeDeployment({}));
    const o = observeDeployment({ metadata: { uid: "", generation: Number.NaN }, status: { readyReplicas: Number.POSITIVE_INFINITY } });
    assert.equal(o.uid, undefined);
    assert.equal(o.generation, undefined);
    assert.equal(o.readyReplicas, 0);
    assert.equal(observeDeployment({ metadata: { uid: 42 } }).uid, undefined);
    assert.equal(observeDeployment(null).exists, true, "only the caller knows a 404");
  });

  it("reads the API's JSON, defaulting absent counters to 0 and spec.replicas to 1", () => {
    const o = observeDeployment({ metadata: { uid: "u", generation: 1 }, spec: {}, status: { observedGeneration: 1 } });
    assert.deepEqual(o, { exists: true, uid: "u", generation: 1, observedGeneration: 1, specReplicas: 1, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, conditions: [] });
  });

  it("ignores fields of the wrong type instead of trusting them", () => {
    const o = observeDeployment({ metadata: { generation: "3" }, status: { readyReplicas: "1", conditions: "x" } });
    assert.equal(o.generation, undefined);
    assert.equal(o.readyReplicas, 0);
    assert.deepEqual(o.conditions, []);
  });

  it("keeps only identity in the baseline and describes it", () => {
    assert.deepEqual(baselineOf({ exists: false }), { exists: false });
    assert.deepEqual(baselineOf(ready), { exists: true, uid: UID, generation: 3, specReplicas: 1 });
    assert.match(describeBaseline({ exists: false }), /^deployment tsb\/tsb absent before the promotion$/);
    assert.equal(describeBaseline(baselineOf(ready)), `deployment tsb/tsb before the promotion: uid ${UID}, generation 3, 1 replicas wanted`);
    assert.equal(describeBaseline({ exists: true }), "deployment tsb/tsb before the promotion: uid ?, generation ?, ? replicas wanted");
  });
});

describe("ready gate timeout message", () => {
  it("names the site, the promotion, what was seen last and what to check", () => {
    const m = readyGateTimeoutMessage({ site: "mp2", promotion: "mp1->mp2", timeoutSeconds: 600, polls: 120, lastSeen: "deployment tsb/tsb does not exist yet", context: "mp2-ctx" });
    assert.match(m, /^site mp2: .* within 600 s of the promotion \(mp1->mp2\); 120 reads/);
    assert.match(m, /Last seen: deployment tsb\/tsb does not exist yet/);
    assert.match(m, /kubectl --context mp2-ctx -n tsb get deploy tsb/);
    assert.match(m, /logs deploy\/tsb-operator-management-plane/);
    const lines = m.split("\n");
    assert.equal(lines.length, 6, "one line per point");
    assert.match(lines[4]!, /kubectl --context mp2-ctx -n tsb get managementplanes\.install\.tetrate\.io managementplane -o yaml\.$/);
    assert.match(lines[5]!, /^DNS has not moved\. Once tsb is ready, run pulumi up again: .*raise tsb\.readyTimeoutSeconds/);
  });

  it("leaves --context out when the site uses the kubeconfig's current context", () => {
    const m = readyGateTimeoutMessage({ site: "mp2", promotion: "mp1->mp2", timeoutSeconds: 600, polls: 1, lastSeen: "x" });
    assert.match(m, /Check: kubectl -n tsb get deploy tsb \(and its pods: kubectl -n tsb get pods\);/);
  });
});
