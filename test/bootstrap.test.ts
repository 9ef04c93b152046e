// Issue 10 under mocks: a new stack with two sites and no JWK in config comes up in one update, in the
// order the seed's manual steps imply, with the service account's key secret everywhere.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { dependsOn, find, has, isSecretValue, plainStrings, reveal, runProgram, type ChildOutput } from "./harness/runProgram";
import { MOCK_ACCOUNT_JWK } from "./harness/mockState";
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

  it("does not make an account when the JWK is given (the two-update path)", async () => {
    const given = await runProgram({ config: baseConfig({ dns: { provider: "route53", zoneId: "Z0123456789", ttl: 60, siteRecords: "managed" } }), secretKeys: ["standbyServiceAccountJwk"] });
    assert.deepEqual(given.errors, []);
    assert.ok(!has(given, "standby-service-account"));
  });
});
