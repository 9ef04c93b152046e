// Failover under mocks: the real program runs with the before config, then with the after config and
// the before run's `history` (what the self stack reference returns), and we compare what it registers.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { dependsOn, find, has, reveal, runProgram, siteOf, type ChildOutput, type Registration } from "./harness/runProgram";
import { baseConfig, clusterWithKeys, input } from "./fixtures";
import { engineDiff } from "./harness/engine";
import { UNKNOWN } from "./harness/mockState";

const THREE = { mp1: { context: "mp1" }, mp2: { context: "mp2" }, mp3: { context: "mp3" } };
const beforeConfig = baseConfig({ sites: THREE });
const afterConfig = (mp1State: "fenced" | "lost") =>
  baseConfig({ activeSite: "mp2", sites: { ...THREE, mp1: { context: "mp1", state: mp1State } } });

const history = (run: ChildOutput) => ({ history: run.outputs!["history"]!.value });
const same = (a: Registration, b: Registration) => JSON.stringify(reveal(a.inputs)) === JSON.stringify(reveal(b.inputs));
const values = (r: Registration) => (reveal(r.inputs) as { values: { spec: { highAvailability: unknown } } }).values;

describe("failover mp1 -> mp2 with mp1 fenced and mp3 a standby", () => {
  let first: ChildOutput;
  let flip: ChildOutput;
  let again: ChildOutput;
  before(async () => {
    first = await runProgram(input(beforeConfig));
    assert.deepEqual(first.errors, []);
    flip = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first) }));
    assert.deepEqual(flip.errors, []);
    again = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(flip) }));
    assert.deepEqual(again.errors, []);
  });

  it("keeps every URN: nothing stateful is created anew or removed, only updated in place", () => {
    const d = engineDiff(first, flip);
    // What a `pulumi preview` of the flip shows, counted (and printed for the runbook).
    console.log(`flip: ${d.created.length} created, ${d.updated.length} updated, ${d.replaced.length} replaced, ${d.removed.length} removed: ${JSON.stringify(d)}`);
    assert.deepEqual(d.created, [
      "mp1", // SiteFence component
      "mp1-envoy-scaled-down",
      "mp1-iam-scaled-down",
      "mp1-tsb-operator-management-plane-scaled-down",
      "mp1-tsb-scaled-down",
      "mp2-api-verified", // the promotion's gates
      "mp2-promotion",
      "mp2-replication-gate",
      "mp2-tsb-baseline",
      "mp2-tsb-iam-jwks-made", // the preflight's wait for the JWKS mp2's operator made
      "mp2-tsb-ready",
      "mp3-follows", // the proof that mp3 streams from mp2 after the promotion
    ]);
    // mp1's gates and the wait for its own key (the standbys now copy mp2's) leave with its active role:
    // dynamic resources whose delete makes no call. Nothing stateful leaves.
    assert.deepEqual(d.removed, ["mp1-api-verified", "mp1-iam-signing-key-made", "mp1-promotion", "mp1-tsb-ready"]);
    // dns-propagation is a timer whose trigger (the target) changes: replaced, so it waits one TTL again.
    assert.deepEqual(d.replaced, ["dns-propagation"]);
    // mp1-k8s: the fenced site's provider gets a request timeout (tsb.fenceTimeoutSeconds), in place.
    assert.deepEqual(d.updated, ["dns", "floating-record", "mp1", "mp1-k8s", "mp2", "mp2-managementplane", "mp3-managementplane"]);
  });

  it("proves mp3 follows mp2 once its release moved: keyed by the promotion, mp2's FQDN, the follow bound; history waits for it", () => {
    const proof = find(flip, "mp3-follows");
    const inputs = reveal(proof.inputs) as { site: string; newActive: string; promotion: string; upstreamHost: string; timeoutSeconds: number; rebuild: number };
    assert.deepEqual([inputs.site, inputs.newActive, inputs.promotion, inputs.upstreamHost, inputs.timeoutSeconds, inputs.rebuild], ["mp3", "mp2", "mp1->mp2", "mp2.tsb.example.com", 300, 0]);
    assert.ok(dependsOn(flip, "mp3-follows", "mp3-managementplane"), "after mp3's release carries the new endpoint");
    assert.ok(dependsOn(flip, "mp3-managementplane", "mp2-api-verified"), "which waits until mp2 serves");
    assert.deepEqual(proof.ignoreChanges.sort(), ["access", "pollIntervalMs", "postgres", "rebuild", "timeoutSeconds"]);
    assert.equal(flip.registrations.some((r) => r.name === "mp2-follows" || r.name === "mp1-follows"), false, "only other standbys are proven");
    assert.equal(first.registrations.some((r) => r.name.endsWith("-follows")), false, "a first install proves nothing");
    const history = flip.outputs!["history"]!.value as { sites: Record<string, { timeline?: number }> };
    assert.equal(history.sites["mp2"]?.timeline, 2, "history records the timeline the proof read on the new active");
  });

  it("a standby that does not follow stops the update: history keeps mp1 active, the floating name has moved", async () => {
    const failed = await runProgram(input(afterConfig("fenced"), {
      previousOutputs: history(first), clusterSecrets: clusterWithKeys(["mp1", "mp2", "mp3"]),
      failing: { "mp3-follows": "mp3 does not follow the new active mp2 after 300 s: ..." },
    }));
    assert.match(failed.errors.join("\n"), /mp3 does not follow the new active mp2/);
    assert.ok(failed.outputs!["history"]!.failed, "history is not saved: the next run proves it again");
    assert.ok(failed.outputs!["activeSite"]!.failed);
    assert.ok(has(failed, "floating-record"), "mp2 serves and the name moved before the proof");
  });

  it("waits for mp2 to serve: a gate keyed by the promotion, with the configured timeout", () => {
    const gate = find(flip, "mp2-tsb-ready");
    const inputs = reveal(gate.inputs) as { site: string; promotion: string; timeoutSeconds: number; deployment: string };
    assert.deepEqual([inputs.site, inputs.promotion, inputs.timeoutSeconds, inputs.deployment], ["mp2", "mp1->mp2", 600, "tsb"]);
    assert.ok(dependsOn(flip, "mp2-tsb-ready", "mp2-managementplane"));
    assert.ok(dependsOn(flip, "mp2-managementplane", "mp2-tsb-baseline"), "the baseline is read before the promotion");
  });

  it("leaves the old active's release values exactly as they were", () => {
    assert.ok(same(find(first, "mp1-managementplane"), find(flip, "mp1-managementplane")));
  });

  it("promotes mp2 to the active block and moves mp3's synchronisation to mp2", () => {
    assert.deepEqual(values(find(flip, "mp2-managementplane")).spec.highAvailability, { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
    assert.deepEqual(values(find(flip, "mp3-managementplane")).spec.highAvailability, {
      standby: { activeMpSynchronizationEndpoint: { host: "mp2.tsb.example.com", port: 443, selfSigned: true } },
    });
    assert.deepEqual((reveal(find(flip, "floating-record").inputs) as { records: string[] }).records, ["mp2.tsb.example.com"]);
  });

  it("runs the seed's order as dependency paths: fence -> promote -> ready -> DNS -> cut", () => {
    const path: Array<[string, string]> = [
      ["mp1-tsb-scaled-down", "mp1-tsb-operator-management-plane-scaled-down"],
      ["mp1-iam-scaled-down", "mp1-tsb-operator-management-plane-scaled-down"],
      ["mp2-managementplane", "mp1-tsb-scaled-down"],
      ["mp2-managementplane", "mp1-iam-scaled-down"],
      ["mp2-replication-gate", "mp1-tsb-scaled-down"],
      ["mp2-replication-gate", "mp1-iam-scaled-down"],
      ["mp2-managementplane", "mp2-replication-gate"],
      ["mp2-tsb-ready", "mp2-managementplane"],
      ["mp2-api-verified", "mp2-tsb-ready"],
      ["floating-record", "mp2-api-verified"],
      ["dns-propagation", "floating-record"],
      ["mp1-envoy-scaled-down", "dns-propagation"],
      ["mp3-managementplane", "mp2-api-verified"],
    ];
    for (const [later, earlier] of path) assert.ok(dependsOn(flip, later, earlier), `${later} waits for ${earlier}`);
    assert.ok(!dependsOn(flip, "floating-record", "mp1-envoy-scaled-down"), "DNS does not wait for the cut");
    const wait = reveal(find(flip, "dns-propagation").inputs) as { createDuration: string; triggers: { target: string } };
    assert.deepEqual(wait, { createDuration: "60s", triggers: { target: "mp2.tsb.example.com" } }, "the cut waits one TTL after the move");
  });

  it("fences with replica patches the operator cannot undo, on mp1's cluster", () => {
    for (const d of ["tsb-operator-management-plane", "tsb", "iam", "envoy"]) {
      const patch = find(flip, `mp1-${d}-scaled-down`);
      assert.equal(siteOf(patch), "mp1");
      const inputs = reveal(patch.inputs) as { metadata: { name: string; namespace: string; annotations: Record<string, string> }; spec: { replicas: number } };
      assert.equal(inputs.metadata.name, d);
      assert.equal(inputs.metadata.namespace, "tsb");
      assert.equal(inputs.spec.replicas, 0);
      assert.equal(inputs.metadata.annotations["pulumi.com/patchForce"], "true");
    }
  });

  it("checks the signing keys before it fences: reads on both actives and the new jwks", () => {
    assert.equal(siteOf(find(flip, "mp1-iam-signing-key-read", "read")), "mp1");
    assert.equal(siteOf(find(flip, "mp2-iam-signing-key-read", "read")), "mp2");
    assert.equal(siteOf(find(flip, "mp2-tsb-iam-jwks-read", "read")), "mp2");
  });

  it("keeps the new active's copied iam-signing-key and service-account secret", () => {
    const d = engineDiff(first, flip);
    for (const name of ["mp2-iam-signing-key", "mp2-sa-jwk", "mp2-namespace"]) {
      assert.ok(!d.updated.includes(name) && !d.replaced.includes(name) && !d.removed.includes(name), `${name} unchanged`);
      assert.equal(find(flip, name).retainOnDelete, true);
    }
  });

  it("changes nothing on a second update with the same config", () => {
    const d = engineDiff(flip, again);
    assert.deepEqual(d, { created: [], removed: [], updated: [], replaced: [] });
    assert.ok(!has(again, "mp1-iam-signing-key-read", "read"), "no preflight once the failover is done");
  });
});

describe("failover mp1 -> mp2 with mp1 lost", () => {
  let first: ChildOutput;
  let flip: ChildOutput;
  before(async () => {
    first = await runProgram(input(beforeConfig));
    const clusters = clusterWithKeys(["mp2", "mp3"]); // mp1's cluster is gone: any read there would fail
    flip = await runProgram(input(afterConfig("lost"), { previousOutputs: history(first), clusterSecrets: clusters }));
  });

  it("completes on the surviving site", () => {
    assert.deepEqual(flip.errors, []);
    assert.deepEqual(values(find(flip, "mp2-managementplane")).spec.highAvailability, { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
    assert.deepEqual((reveal(find(flip, "floating-record").inputs) as { records: string[] }).records, ["mp2.tsb.example.com"]);
    assert.ok(dependsOn(flip, "floating-record", "mp2-api-verified"));
    const gate = reveal(find(flip, "mp2-replication-gate").inputs) as { mode: string; access: Record<string, unknown> };
    assert.equal(gate.mode, "lost");
    assert.deepEqual(Object.keys(gate.access).sort(), ["mp2", "mp3"], "the gate never reaches for mp1");
  });

  it("registers, reads and patches nothing on mp1, and never configures its provider", () => {
    assert.ok(!has(flip, "mp1-k8s"));
    const onMp1 = flip.registrations.filter((r) => siteOf(r) === "mp1" || r.name.startsWith("mp1-") && r.type.startsWith("kubernetes:"));
    assert.deepEqual(onMp1.map((r) => r.name), []);
  });

  it("keeps mp1's certificates (they live in state, not on the cluster)", () => {
    assert.ok(same(find(first, "mp1-tsb-cert"), find(flip, "mp1-tsb-cert")));
  });
});

describe("a fenced site whose cluster dies later", () => {
  it("becomes lost without any call to its cluster", async () => {
    const first = await runProgram(input(beforeConfig));
    const flip = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first) }));
    const lost = await runProgram(input(afterConfig("lost"), { previousOutputs: history(flip), clusterSecrets: clusterWithKeys(["mp2", "mp3"]) }));
    assert.deepEqual(lost.errors, []);
    assert.deepEqual(lost.registrations.filter((r) => siteOf(r) === "mp1" || r.name === "mp1-k8s").map((r) => r.name), []);
    const d = engineDiff(flip, lost);
    assert.deepEqual(d, {
      created: [],
      updated: [],
      replaced: [],
      // They leave the state only: every one is retainOnDelete, so no delete reaches mp1's cluster.
      removed: [
        "mp1", "mp1", "mp1-envoy-scaled-down", "mp1-iam-scaled-down", "mp1-k8s", "mp1-managementplane", "mp1-namespace",
        "mp1-tsb-operator-management-plane-scaled-down", "mp1-tsb-scaled-down",
      ],
    });
    for (const name of d.removed.filter((n) => n !== "mp1" && n !== "mp1-k8s")) assert.equal(find(flip, name).retainOnDelete, true, name);
  });
});

describe("preflight", () => {
  it("refuses the failover before anything is fenced when the signing keys differ", async () => {
    const first = await runProgram(input(beforeConfig));
    const clusters = { ...clusterWithKeys(["mp2", "mp3"], "kid-new"), ...clusterWithKeys(["mp1"], "kid-old") };
    const flip = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first), clusterSecrets: clusters }));
    assert.equal(flip.errors.length >= 1, true);
    assert.match(flip.errors.join("\n"), /Failover mp1 -> mp2 refused: iam-signing-key on mp2 \(kid kid-new\) differs from the one on mp1 \(kid kid-old\)\. Nothing was fenced\./);
    assert.deepEqual(flip.registrations.filter((r) => /scaled-down/.test(r.name)).map((r) => r.name), [], "no fence registered");
    assert.ok(!has(flip, "mp2-managementplane"), "no promotion registered");
    assert.ok(!has(flip, "floating-record"), "the floating name does not move");
    assert.ok(!has(flip, "mp3-iam-signing-key"), "no standby's key copy is rewritten");
    assert.ok(flip.outputs!["history"]!.failed, "history is not saved: the next run still sees mp1 active");
  });

  it("refuses, after a bounded wait, when the new active's operator never made tsb-iam-jwks (or left it empty), naming it and what to check", async () => {
    const first = await runProgram(input(beforeConfig));
    for (const [how, jwks, seen] of [["missing", undefined, "does not exist yet"], ["empty", { type: "Opaque", data: {} }, "exists but has no data yet"]] as const) {
      const clusters = clusterWithKeys(["mp1", "mp2", "mp3"]);
      if (jwks) clusters["mp2"]!["tsb/tsb-iam-jwks"] = jwks;
      else delete clusters["mp2"]!["tsb/tsb-iam-jwks"];
      const flip = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first), clusterSecrets: clusters, operatorStalled: ["mp2"] }));
      const errors = flip.errors.join("\n");
      assert.match(errors, new RegExp(`Failover mp1 -> mp2 refused: site mp2: Secret tsb/tsb-iam-jwks was not made within 60 s \\(13 reads\\)\\. Last seen: Secret tsb/tsb-iam-jwks ${seen}\\. Nothing was fenced\\.`), how);
      assert.match(errors, /kubectl --context mp2 -n tsb logs -l name=tsb-operator/, how);
      assert.doesNotMatch(errors, /resource '.*' does not exist/, `${how}: the preflight's message, not the engine's`);
      assert.deepEqual(flip.registrations.filter((r) => /scaled-down/.test(r.name)).map((r) => r.name), [], how);
      assert.ok(!has(flip, "mp2-tsb-iam-jwks-read", "read"), `${how}: read only once it was seen`);
    }
  });

  it("waits for a tsb-iam-jwks the new active's operator is still making, then fails over", async () => {
    const first = await runProgram(input(beforeConfig));
    const clusters = clusterWithKeys(["mp1", "mp2", "mp3"]);
    delete clusters["mp2"]!["tsb/tsb-iam-jwks"];
    const flip = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first), clusterSecrets: clusters, operatorReconciling: ["mp2"] }));
    assert.deepEqual(flip.errors, []);
    const made = find(flip, "mp2-tsb-iam-jwks-made");
    assert.equal((made.state as { polls: number }).polls, 3, "found on the third read, once the operator was done");
    assert.ok(has(flip, "mp2-tsb-iam-jwks-read", "read") && has(flip, "mp1-tsb-scaled-down"));
    assert.ok(dependsOn(flip, "mp1-tsb-operator-management-plane-scaled-down", "mp2-tsb-iam-jwks-made"), "nothing is fenced before it");
  });

  it("a preview of the failover still compares the kids; the JWKS is read in the update, after its wait", async () => {
    const first = await runProgram(input(beforeConfig));
    const clusters = { ...clusterWithKeys(["mp2", "mp3"], "kid-new"), ...clusterWithKeys(["mp1"], "kid-old") };
    const preview = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first), clusterSecrets: clusters, preview: true, existingUrns: first.registrations.map((r) => r.urn) }));
    assert.match(preview.errors.join("\n"), /Failover mp1 -> mp2 refused: iam-signing-key on mp2 \(kid kid-new\) differs from the one on mp1 \(kid kid-old\)/);
    const fine = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first), preview: true, existingUrns: first.registrations.map((r) => r.urn) }));
    assert.deepEqual(fine.errors, []);
    assert.equal(find(fine, "mp2-tsb-iam-jwks-read", "read").id, UNKNOWN, "no read in a preview: its ID is unknown until the wait ran");
  });
});

describe("rebuild of the old active as a standby, then idempotence", () => {
  it("replaces mp1's namespace, copies and release on purpose and syncs it from mp2", async () => {
    const first = await runProgram(input(beforeConfig));
    const flip = await runProgram(input(afterConfig("fenced"), { previousOutputs: history(first) }));
    const refused = await runProgram(input(baseConfig({ activeSite: "mp2", sites: THREE }), { previousOutputs: history(flip) }));
    assert.match(refused.errors.join("\n"), /tsb-ha:sites\.mp1\.state = "standby" makes mp1 a standby, but it was fenced in the last update/);
    assert.deepEqual(refused.registrations.filter((r) => r.kind === "register").map((r) => r.name), [], "refused before any resource");

    const rebuilt = await runProgram(input(baseConfig({ activeSite: "mp2", sites: { ...THREE, mp1: { context: "mp1", rebuild: 1 } } }), { previousOutputs: history(flip) }));
    assert.deepEqual(rebuilt.errors, []);
    for (const name of ["mp1-namespace", "mp1-iam-signing-key", "mp1-sa-jwk", "mp1-managementplane"]) {
      const r = find(rebuilt, name);
      assert.equal(r.replacementTrigger, 1, `${name} is replaced by the rebuild`);
      assert.equal(r.deleteBeforeReplace, true, name);
    }
    assert.deepEqual(values(find(rebuilt, "mp1-managementplane")).spec.highAvailability, {
      standby: { activeMpSynchronizationEndpoint: { host: "mp2.tsb.example.com", port: 443, selfSigned: true } },
    });
    assert.ok(dependsOn(rebuilt, "mp1-managementplane", "mp2-api-verified"));
    assert.ok(!rebuilt.registrations.some((r) => /^mp1-.*scaled-down$/.test(r.name)), "the fence leaves with the rebuild");
    const d = engineDiff(flip, rebuilt);
    for (const other of ["mp2-managementplane", "mp2-namespace", "mp3-managementplane", "floating-record"]) {
      assert.ok(![...d.updated, ...d.replaced, ...d.removed].includes(other), `${other} untouched by mp1's rebuild`);
    }
  });
});
