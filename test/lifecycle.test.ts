// One stack driven through a chain of updates, each reading what the last one saved (outputs with
// their secretness, the clusters as they were left), as the engine and the clusters would
// (test/harness/engine.ts, test/harness/mockState.ts). Issue 7: "every update after a failover works".
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Stack, changes, type EngineDiff } from "./harness/engine";
import { find, has, reveal, siteOf, type ChildOutput } from "./harness/runProgram";
import { baseConfig } from "./fixtures";

const site = (extra: Record<string, unknown> = {}) => ({ context: "ctx", ...extra });
const cfg = (activeSite: string, sites: Record<string, Record<string, unknown>>, over: Record<string, unknown> = {}) =>
  baseConfig({ activeSite, sites, standbyServiceAccountJwk: undefined, dns: { provider: "route53", zoneId: "Z0123456789", ttl: 60, siteRecords: "managed" }, ...over });
const ha = (run: ChildOutput, s: string) => (reveal(find(run, `${s}-managementplane`).inputs) as { values: { spec: { highAvailability: unknown } } }).values.spec.highAvailability;
const isActive = (run: ChildOutput, s: string) => JSON.stringify(ha(run, s)).includes("exposeEmbeddedPostgresInFrontEnvoy");
const STATEFUL = /-(managementplane|namespace|iam-signing-key|sa-jwk)$|^floating-record$|^set-root/;

describe("one stack through nine updates", () => {
  const stack = new Stack();
  const runs: Record<string, ChildOutput> = {};
  const diffs: Record<string, EngineDiff> = {};
  const steps: Array<[string, () => Record<string, unknown>, (() => void)?]> = [
    ["provision mp1 (active) and mp2", () => cfg("mp1", { mp1: site(), mp2: site() })],
    ["add mp3 as a standby", () => cfg("mp1", { mp1: site(), mp2: site(), mp3: site() })],
    ["fail over mp1 -> mp2, mp1 fenced", () => cfg("mp2", { mp1: site({ state: "fenced" }), mp2: site(), mp3: site() })],
    ["run again, same config", () => cfg("mp2", { mp1: site({ state: "fenced" }), mp2: site(), mp3: site() })],
    ["lower the TTL to 30", () => cfg("mp2", { mp1: site({ state: "fenced" }), mp2: site(), mp3: site() }, { dns: { provider: "route53", zoneId: "Z0123456789", ttl: 30, siteRecords: "managed" } })],
    // The runbook's clean-up before a rebuild: the fenced site's namespace is deleted by hand.
    ["rebuild mp1 as a standby", () => cfg("mp2", { mp1: site({ rebuild: 1 }), mp2: site(), mp3: site() }, { dns: { provider: "route53", zoneId: "Z0123456789", ttl: 30, siteRecords: "managed" } }),
      () => { delete stack.clusters["mp1"]; }],
    ["fail back mp2 -> mp1, mp2 fenced", () => cfg("mp1", { mp1: site({ rebuild: 1 }), mp2: site({ state: "fenced" }), mp3: site() }, { dns: { provider: "route53", zoneId: "Z0123456789", ttl: 30, siteRecords: "managed" } })],
    // mp2 can only be promoted again once rebuilt (its database diverged when it was fenced).
    ["rebuild mp2 as a standby", () => cfg("mp1", { mp1: site({ rebuild: 1 }), mp2: site({ rebuild: 1 }), mp3: site() }, { dns: { provider: "route53", zoneId: "Z0123456789", ttl: 30, siteRecords: "managed" } }),
      () => { delete stack.clusters["mp2"]; }],
    ["lose mp3 and fail over mp1 -> mp2, mp1 fenced", () => cfg("mp2", { mp1: site({ rebuild: 1, state: "fenced" }), mp2: site({ rebuild: 1 }), mp3: site({ state: "lost" }) }, { dns: { provider: "route53", zoneId: "Z0123456789", ttl: 30, siteRecords: "managed" } })],
  ];

  before(async () => {
    for (const [name, config, prepare] of steps) {
      prepare?.();
      const unreachable = name.startsWith("lose mp3") ? { unreachableSites: ["mp3"] } : {};
      runs[name] = await stack.up(name, config(), unreachable);
      diffs[name] = stack.log[stack.log.length - 1]!.diff;
    }
    // The figure the issue asks for: how many changes each update makes.
    console.log(stack.log.map((l) => `${l.step}: ${changes(l.diff)} changes (${l.diff.created.length} created, ${l.diff.updated.length} updated, ${l.diff.replaced.length} replaced, ${l.diff.removed.length} removed)`).join("\n"));
  });

  it("runs every update without an error", () => {
    for (const l of stack.log) assert.deepEqual(l.errors, [], l.step);
  });

  it("comes up from empty clusters in one update, with the service account made by the program", () => {
    const first = runs["provision mp1 (active) and mp2"]!;
    assert.ok(has(first, "standby-service-account"), "no JWK in config: the program makes the account");
    const jwk = reveal(find(first, "mp2-sa-jwk").inputs) as { stringData: { jwk: string } };
    assert.match(jwk.stringData.jwk, /"kid":"sa-key-1"/, "the standby's Secret holds the account's key");
    assert.ok(find(first, "mp2-sa-jwk").inputs && JSON.stringify(find(first, "mp2-sa-jwk").inputs).includes("4dabf18193072939515e22adb298388d"), "as a secret");
    assert.ok(has(first, "mp1-record") && has(first, "mp2-record"), "each site's permanent record from its load balancer");
  });

  it("saves history as a plain output every time, and reads it back after every failover", () => {
    for (const l of stack.log) assert.equal(l.errors.length, 0, l.step);
    assert.equal(stack.outputs["history"]!.secret, false);
    assert.equal((stack.outputs["history"]!.value as { activeSite: string }).activeSite, "mp2");
  });

  it("promotes, re-points and fences as each step says", () => {
    const flip = runs["fail over mp1 -> mp2, mp1 fenced"]!;
    assert.ok(isActive(flip, "mp2") && !isActive(flip, "mp3"));
    assert.ok(has(flip, "mp2-replication-gate") && has(flip, "mp2-tsb-baseline"));
    const back = runs["fail back mp2 -> mp1, mp2 fenced"]!;
    assert.ok(isActive(back, "mp1"));
    const last = runs["lose mp3 and fail over mp1 -> mp2, mp1 fenced"]!;
    assert.ok(isActive(last, "mp2"));
    assert.deepEqual(last.registrations.filter((r) => siteOf(r) === "mp3" || r.name === "mp3-k8s").map((r) => r.name), [], "nothing is read or changed on lost mp3");
  });

  it("changes nothing when run again with the same config", () => {
    assert.equal(changes(diffs["run again, same config"]!), 0, JSON.stringify(diffs["run again, same config"]));
  });

  it("never replaces or removes anything stateful in a failover", () => {
    for (const step of ["fail over mp1 -> mp2, mp1 fenced", "fail back mp2 -> mp1, mp2 fenced", "lose mp3 and fail over mp1 -> mp2, mp1 fenced"]) {
      const d = diffs[step]!;
      const lostSite = step.startsWith("lose mp3") ? /^mp3-/ : /^$/;
      assert.deepEqual(d.replaced.filter((n) => STATEFUL.test(n)), [], `${step}: replaced ${d.replaced.join(", ")}`);
      assert.deepEqual(d.removed.filter((n) => STATEFUL.test(n) && !lostSite.test(n)), [], `${step}: removed ${d.removed.join(", ")}`);
    }
  });

  it("lowers the TTL in place: the records and the timer, nothing else", () => {
    const d = diffs["lower the TTL to 30"]!;
    assert.deepEqual(d.created, []);
    assert.deepEqual(d.removed, []);
    assert.ok(d.updated.includes("floating-record"));
    assert.ok(d.updated.every((n) => /record|propagation|^dns$/.test(n)), d.updated.join(", "));
  });

  it("rebuilds on purpose: only the rebuilt site's resources are replaced", () => {
    const d = diffs["rebuild mp1 as a standby"]!;
    assert.deepEqual(d.replaced.filter((n) => !n.startsWith("mp1-")), []);
    assert.ok(d.replaced.includes("mp1-managementplane"));
  });
});
