// What the updates after a failover rely on (issues 7 and 8): the history is readable whatever the
// last update saved, outputs keep the last good values after a refused failover, and a fenced site
// stays fenced whatever else changes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Stack, engineDiff } from "./harness/engine";
import { dependsOn, find, has, reveal, runProgram, siteOf } from "./harness/runProgram";
import { baseConfig, clusterWithKeys, input } from "./fixtures";
import { RELEASE_INPUTS } from "../components/managementPlane";

const THREE = { mp1: { context: "mp1" }, mp2: { context: "mp2" }, mp3: { context: "mp3" } };
const before = baseConfig({ sites: THREE });
const after = (over: Record<string, unknown> = {}) => baseConfig({ activeSite: "mp2", sites: { ...THREE, mp1: { context: "mp1", state: "fenced" } }, ...over });

describe("history", () => {
  it("is read back even when the last update saved it as a secret (the first version did, after a failover)", async () => {
    const first = await runProgram(input(before));
    // What the engine returns for a secret output: listed in secretOutputNames (builtins.go, readStackReference).
    const next = await runProgram(input(after(), { previousOutputs: { history: first.outputs!["history"]!.value }, previousSecretOutputNames: ["history"] }));
    assert.deepEqual(next.errors, [], "getOutputValue would throw here: Cannot call 'getOutputValue' if the referenced stack output is a secret");
    assert.ok(has(next, "mp2-replication-gate"), "the failover runs with the guards of the saved history");
    assert.equal(next.outputs!["history"]!.secret, false, "and saves it in plain text from now on");
  });

  it("is never secret, though it waits for the secret preflight reads", async () => {
    const first = await runProgram(input(before));
    const flip = await runProgram(input(after(), { previousOutputs: { history: first.outputs!["history"]!.value } }));
    assert.equal(flip.outputs!["history"]!.secret, false);
    assert.equal(flip.outputs!["adminPassword"]!.secret, true, "what is secret stays secret");
  });

  it("that cannot be read stops the update with what was found and how to repair it", async () => {
    const run = await runProgram(input(before, { previousOutputs: { history: { activeSite: "mp1", sites: "broken" } } }));
    assert.match(run.errors.join("\n"), /The stack output "history" .* has no sites\. Found: .*Nothing was changed\. Repair: /);
    assert.deepEqual(run.registrations.filter((r) => r.kind === "register" && r.custom).map((r) => r.name), [], "no resource registered");
  });
});

describe("outputs after a refused failover", () => {
  it("keep saying who served last: activeSite, sites and history stay as they were", async () => {
    const stack = new Stack();
    stack.clusters = clusterWithKeys(["mp1", "mp2", "mp3"]);
    await stack.up("provision", before);
    // mp2 holds another key: the preflight refuses, nothing is fenced.
    stack.clusters["mp2"]!["tsb/iam-signing-key"] = clusterWithKeys(["mp2"], "kid-other")["mp2"]!["tsb/iam-signing-key"]!;
    const refused = await stack.up("refused failover", after());
    assert.match(refused.errors.join("\n"), /refused/);
    assert.equal(stack.outputs["activeSite"]!.value, "mp1");
    assert.equal((stack.outputs["sites"]!.value as Record<string, { role: string }>)["mp2"]!.role, "standby");
    assert.equal((stack.outputs["history"]!.value as { activeSite: string }).activeSite, "mp1");
  });
});

describe("a fenced site stays fenced", () => {
  it("gets no helm upgrade through a version bump, a registry change and renewed certificates", async () => {
    const stack = new Stack();
    stack.clusters = clusterWithKeys(["mp1", "mp2", "mp3"]);
    await stack.up("provision", before);
    await stack.up("fail over", after());
    const fenced = stack.last!;
    const bumped = await stack.up("bump", after({ tsb: { version: "1.12.5", registry: "mirror.example.com/tetrate", organization: "tetrate", frontEnvoyPort: 8443 } }), { certGeneration: 1 });
    assert.deepEqual(bumped.errors, []);
    const d = engineDiff(fenced, bumped);
    assert.ok(d.updated.includes("mp2-managementplane") && d.updated.includes("mp3-managementplane"), "serving sites are upgraded");
    assert.ok(!d.updated.includes("mp1-managementplane") && !d.replaced.includes("mp1-managementplane"), "mp1's release is not upgraded");
    const release = find(bumped, "mp1-managementplane");
    const inputs = Object.keys(reveal(release.inputs) as object).filter((k) => k !== "__provider");
    for (const k of inputs) assert.ok(release.ignoreChanges.includes(k), `every input the program sends is ignored on the fenced release: ${k}`);
    assert.deepEqual([...release.ignoreChanges].sort(), [...RELEASE_INPUTS].sort());
  });

  it("has everything the program still does there come after its fence, each call bounded", async () => {
    const first = await runProgram(input(before));
    const flip = await runProgram(input(after({ tsb: { version: "1.12.4", registry: "registry.example.com/tetrate", organization: "tetrate", fenceTimeoutSeconds: 90 } }), { previousOutputs: { history: first.outputs!["history"]!.value } }));
    for (const name of ["mp1-namespace", "mp1-managementplane"]) {
      assert.ok(dependsOn(flip, name, "mp1-tsb-scaled-down") && dependsOn(flip, name, "mp1-iam-scaled-down"), `${name} after the fence`);
    }
    for (const r of flip.registrations.filter((x) => /^mp1-.*-scaled-down$/.test(x.name))) {
      assert.deepEqual(r.customTimeouts, { create: "90s", update: "90s" }, r.name);
      assert.equal(siteOf(r), "mp1");
    }
    const provider = reveal(find(flip, "mp1-k8s").inputs) as { kubeClientSettings?: string | { timeout: number } };
    const settings = typeof provider.kubeClientSettings === "string" ? JSON.parse(provider.kubeClientSettings) as { timeout: number } : provider.kubeClientSettings;
    assert.equal(settings?.timeout, 22, "each request to the old active gives up within a quarter of the fence timeout");
  });
});

describe("the plan in the preview", () => {
  it("lists a failover's steps in words before anything runs, with no secret", async () => {
    const first = await runProgram(input(before));
    const preview = await runProgram(input(after(), { preview: true, previousOutputs: { history: first.outputs!["history"]!.value }, existingUrns: first.registrations.map((r) => r.urn) }));
    assert.deepEqual(preview.errors, []);
    const text = preview.infos.join("\n");
    assert.match(text, /^Failover mp1 -> mp2 \(\d+ steps\):/m);
    for (const step of ["preflight", "fence mp1", "replication gate mp2", "promote mp2", "ready gate mp2", "verify mp2", "move floating name", "cut mp1", "re-point standbys"]) {
      assert.match(text, new RegExp(`\\d+\\. ${step}: `), step);
    }
    assert.match(text, /CNAME active\.tsb\.example\.com: mp1\.tsb\.example\.com -> mp2\.tsb\.example\.com/);
    assert.ok(!/password-of-|PRIVATE KEY/.test(text));
  });

  it("says in one line when there is no failover", async () => {
    const run = await runProgram(input(before, { preview: true }));
    assert.deepEqual(run.errors, []);
    assert.deepEqual(run.infos.filter((l) => /failover/i.test(l)), ["No failover in this update: mp1 stays the active."]);
  });
});
