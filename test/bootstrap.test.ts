// Issue 10 under mocks: a new stack with two sites and no JWK in config comes up in one update, in the
// order the seed's manual steps imply, with the service account's key secret everywhere.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { dependsOn, find, has, isSecretValue, plainStrings, reveal, runProgram, type ChildOutput } from "./harness/runProgram";
import { MOCK_ACCOUNT_JWK, UNKNOWN } from "./harness/mockState";
import { Stack, changes } from "./harness/engine";
import { baseConfig } from "./fixtures";

const config = baseConfig({ standbyServiceAccountJwk: undefined, dns: { provider: "route53", zoneId: "Z0123456789", ttl: 60, siteRecords: "managed" } });

describe("one update from empty clusters to a synchronising pair", () => {
  let run: ChildOutput;
  before(async () => {
    run = await runProgram({ config, secretKeys: [] });
  });

  it("registers the whole set without an error", () => {
    assert.deepEqual(run.errors, []);
    for (const name of ["set-root", "mp1-managementplane", "mp1-envoy-address", "mp1-record", "mp1-tsb-ready", "mp1-api-verified", "standby-service-account",
      "mp2-iam-signing-key", "mp2-sa-jwk", "mp2-managementplane", "mp2-envoy-address", "mp2-record", "floating-record"]) {
      assert.ok(has(run, name), name);
    }
  });

  it("runs in order: active release -> its address -> serving -> account -> the standby's secrets -> the standby", () => {
    const chain: Array<[string, string]> = [
      ["mp1-envoy-address", "mp1-managementplane"],
      ["mp1-record", "mp1-envoy-address"],
      ["mp1-tsb-ready", "mp1-managementplane"],
      ["mp1-api-verified", "mp1-tsb-ready"],
      ["standby-service-account", "mp1-api-verified"],
      ["standby-service-account", "mp1-envoy-address"],
      ["mp2-sa-jwk", "standby-service-account"],
      ["mp2-managementplane", "mp2-sa-jwk"],
      ["mp2-managementplane", "mp2-iam-signing-key"],
      ["mp2-managementplane", "mp1-api-verified"],
      ["mp2-record", "mp2-envoy-address"],
      ["floating-record", "mp1-api-verified"],
    ];
    for (const [later, earlier] of chain) assert.ok(dependsOn(run, later, earlier), `${later} waits for ${earlier}`);
  });

  it("reaches the active's API at its load balancer while TLS checks its permanent name", () => {
    const account = reveal(find(run, "standby-service-account").inputs) as { fqdn: string; address: string; role: string };
    assert.deepEqual([account.fqdn, account.address, account.role], ["mp1.tsb.example.com", "203.0.113.1", "rbac/org-reader"]);
    const record = reveal(find(run, "mp1-record").inputs) as { name: string; type: string; records: string[] };
    assert.deepEqual([record.name, record.type, record.records], ["mp1.tsb.example.com", "A", ["203.0.113.1"]]);
  });

  it("keeps the account's private key secret: in the state, in the standby's Secret, never in an output", () => {
    assert.ok(find(run, "standby-service-account").additionalSecretOutputs.includes("privateKeyJwk"));
    const saSecret = find(run, "mp2-sa-jwk").inputs as { stringData: unknown };
    assert.ok(isSecretValue(saSecret.stringData) || isSecretValue((saSecret.stringData as Record<string, unknown>)["jwk"]));
    assert.equal((reveal(saSecret) as { stringData: { jwk: string } }).stringData.jwk, MOCK_ACCOUNT_JWK);
    const d = (JSON.parse(MOCK_ACCOUNT_JWK) as { d: string }).d;
    for (const r of run.registrations) for (const { path, value } of plainStrings(r.inputs)) assert.ok(path === "__provider" || !value.includes(d), `${r.name}.${path}`);
    assert.ok(!JSON.stringify(run.outputs).includes(d), "no stack output carries the key");
  });

  it("copies the active's key only once TSB's operator has made it, some reads after the release, once the active serves", () => {
    // The stand-in's operator makes iam-signing-key two reads after helm returned (mockState.ts ClusterSim):
    // a read right after the release would fail the update with "resource 'tsb/iam-signing-key' does not exist".
    const made = find(run, "mp1-iam-signing-key-made");
    const state = reveal(made.state) as Record<string, unknown>;
    assert.deepEqual([state["site"], state["secret"], state["promotion"], state["ref"], state["polls"]], ["mp1", "iam-signing-key", "install", "tsb/iam-signing-key", 3]);
    assert.deepEqual((made.state as { dataKeys: string[] }).dataKeys, ["kid", "private.key"], "field names only in its state");
    assert.ok(!JSON.stringify(made.state).includes(Buffer.from("key of mp1").toString("base64")), "never the key itself");
    assert.ok(dependsOn(run, "mp1-iam-signing-key-made", "mp1-api-verified"), "after the active serves");
    assert.ok(dependsOn(run, "mp1-iam-signing-key-read", "mp1-iam-signing-key-made"));
    assert.equal(find(run, "mp1-iam-signing-key-read", "read").id, "tsb/iam-signing-key");
    const copy = reveal(find(run, "mp2-iam-signing-key").inputs) as { data: Record<string, string> };
    assert.equal(Buffer.from(copy.data["kid"]!, "base64").toString(), "kid-made-on-mp1", "the key mp1's operator made");
    assert.ok(isSecretValue((find(run, "mp2-iam-signing-key").inputs as Record<string, unknown>)["data"]), "as a secret");
    assert.ok(dependsOn(run, "mp2-managementplane", "mp2-iam-signing-key"));
  });

  it("an operator that never makes the key: the update stops, naming the Secret, the site and what to check; nothing is copied", async () => {
    const stuck = await runProgram({ config, secretKeys: [], operatorStalled: ["mp1"] });
    const errors = stuck.errors.join("\n");
    assert.match(errors, /mp1-iam-signing-key-made .*site mp1: Secret tsb\/iam-signing-key was not made within 600 s \(121 reads\)\. Last seen: Secret tsb\/iam-signing-key does not exist yet\./);
    assert.match(errors, /kubectl --context mp1 -n tsb logs -l name=tsb-operator/);
    assert.match(errors, /run pulumi up again/);
    assert.doesNotMatch(errors, /resource '.*' does not exist/);
    for (const name of ["mp2-iam-signing-key", "mp2-managementplane"]) assert.ok(!has(stuck, name), `${name} is not registered`);
    assert.ok(stuck.outputs!["history"]!.failed, "history is not saved");
  });

  it("the next pulumi up changes nothing: the wait is not run again, and the read runs in its preview too", async () => {
    const stack = new Stack({ secretKeys: [] });
    await stack.up("install", config);
    const preview = await stack.up("preview", config, { preview: true });
    assert.equal(find(preview, "mp1-iam-signing-key-read", "read").id, "tsb/iam-signing-key", "the ID is known from state: the preview reads the key");
    assert.equal(changes(stack.log[1]!.diff), 0, JSON.stringify(stack.log[1]!.diff));
    await stack.up("again", config);
    assert.equal(changes(stack.log[2]!.diff), 0, JSON.stringify(stack.log[2]!.diff));
    assert.deepEqual(stack.log.map((l) => l.errors), [[], [], []]);
  });

  it("a first preview touches nothing: the wait's ID is unknown, so the key is not read", async () => {
    const preview = await runProgram({ config, secretKeys: [], preview: true });
    assert.deepEqual(preview.errors, []);
    assert.equal(find(preview, "mp1-iam-signing-key-read", "read").id, UNKNOWN);
  });

  it("does not make an account when the JWK is given (the two-update path)", async () => {
    const given = await runProgram({ config: baseConfig({ dns: { provider: "route53", zoneId: "Z0123456789", ttl: 60, siteRecords: "managed" } }), secretKeys: ["standbyServiceAccountJwk"] });
    assert.deepEqual(given.errors, []);
    assert.ok(!has(given, "standby-service-account"));
  });
});
