// Issue 10, item 2: the standby's service account made by the program. The grant merge and the key
// parsing are tested on plain values; the resource runs as the engine runs it (fresh provider
// process per operation, values through protobuf Structs) against a local HTTPS stand-in for the
// TSB API whose certificate a real root CA issued.
import { after, before, beforeEach, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { EngineDrivenResource } from "./harness/dynamicProvider";
import { FakeTsbApi, makePki, type TestPki } from "./harness/fakeTsbApi";
import { standbyServiceAccountProvider } from "../components/standbyServiceAccount";
import {
  decideAccountAction, hasGrant, privateKeyFromAnswer, serviceAccountFqn, STANDBY_ACCOUNT_NAME, STANDBY_ACCOUNT_ROLE,
  withGrant, withoutGrant,
} from "../lib/gates/standbyAccount";

const FQDN = "mp1.tsb.example.test";
const PASSWORD = "Adm1n-pw-for-the-set";
const ORG = "tetrate";
const SA = serviceAccountFqn(ORG, STANDBY_ACCOUNT_NAME);

describe("standby account decisions (pure)", () => {
  const policy = { fqn: `organizations/${ORG}`, etag: "e7", allow: [{ role: "rbac/admin", subjects: [{ user: "u1" }] }, { role: STANDBY_ACCOUNT_ROLE, subjects: [{ team: "t1" }] }] };

  it("adds the account to the role's existing binding, keeping every other binding and the etag", () => {
    const r = withGrant(policy, STANDBY_ACCOUNT_ROLE, SA);
    assert.equal(r.changed, true);
    assert.equal(r.policy["etag"], "e7");
    assert.deepEqual(r.policy["allow"], [policy.allow[0], { role: STANDBY_ACCOUNT_ROLE, subjects: [{ team: "t1" }, { serviceAccount: SA }] }]);
    assert.equal(hasGrant(r.policy, STANDBY_ACCOUNT_ROLE, SA), true);
    assert.equal(withGrant(r.policy, STANDBY_ACCOUNT_ROLE, SA).changed, false, "granting twice changes nothing");
  });

  it("adds a new binding for a role nobody has, and removes only the account's subject", () => {
    const r = withGrant(policy, "rbac/reader", SA);
    assert.equal((r.policy["allow"] as unknown[]).length, 3);
    const back = withoutGrant(r.policy, "rbac/reader", SA);
    assert.deepEqual(back.policy["allow"], policy.allow);
  });

  it("decides create / keep / newKey from the account and the key the state holds", () => {
    assert.equal(decideAccountAction(false, "k1", []), "create");
    assert.equal(decideAccountAction(true, "k1", ["k0", "k1"]), "keep");
    assert.equal(decideAccountAction(true, undefined, ["k0"]), "newKey");
    assert.equal(decideAccountAction(true, "k1", ["k0"]), "newKey");
  });

  it("reads the private JWK from keys[] (JSON text, object or base64) and fills kid from the key id", () => {
    const jwk = { kty: "RSA", n: "n", e: "AQAB", d: "d", p: "p", q: "q", dp: "dp", dq: "dq", qi: "qi" };
    for (const privateKey of [JSON.stringify(jwk), jwk, Buffer.from(JSON.stringify(jwk)).toString("base64")]) {
      const r = privateKeyFromAnswer({ keys: [{ id: "kid-9", privateKey }] });
      assert.equal(r.keyId, "kid-9");
      assert.deepEqual(JSON.parse(r.jwk), { ...jwk, kid: "kid-9" });
    }
  });

  it("refuses an answer without a usable private key, without echoing key material", () => {
    assert.throws(() => privateKeyFromAnswer({ keys: [{ id: "k", publicKey: "pub" }] }), /no private key/);
    assert.throws(() => privateKeyFromAnswer({ keys: [{ id: "k", privateKey: JSON.stringify({ kty: "RSA", n: "SECRETN", e: "AQAB" }) }] }), (e: Error) =>
      /lacks d, p, q/.test(e.message) && !e.message.includes("SECRETN"));
  });
});

describe("StandbyServiceAccount through the engine's provider process", () => {
  // One resource object for the file, emptied before each use: its serialized provider is kept
  // (the harness serializes once per object, about a second each), the life starts anew.
  const shared = new EngineDrivenResource(standbyServiceAccountProvider);
  const fresh = () => {
    shared.id = undefined;
    shared.state = undefined;
    return shared;
  };
  let pki: TestPki;
  let otherPki: TestPki;
  let api: FakeTsbApi;

  before(() => {
    pki = makePki(FQDN);
    otherPki = makePki(FQDN, "some other root");
  });
  beforeEach(async () => {
    await api?.stop();
    api = await new FakeTsbApi({ fqdn: FQDN, pki, password: PASSWORD, organization: ORG }).start();
  });
  after(async () => {
    await api?.stop();
  });

  const inputs = (over: Record<string, unknown> = {}) => ({
    site: "mp1", fqdn: FQDN, port: api.port, organization: ORG, rootCaPem: pki.caPem, adminPassword: PASSWORD,
    accountName: STANDBY_ACCOUNT_NAME, role: STANDBY_ACCOUNT_ROLE, address: "127.0.0.1", attempts: 3, timeoutSeconds: 5, backoffMs: 20, ...over,
  });
  /** No output but the secret ones, and no message, may contain the password or any private key. */
  const assertNoSecrets = (value: unknown) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    assert.ok(!text.includes(PASSWORD), "password leaked");
    for (const jwk of api.issuedKeys.values()) {
      const d = (JSON.parse(jwk) as { d: string }).d;
      assert.ok(!text.includes(d), "private key leaked");
    }
  };
  /** The state without the two outputs that are secret in the stack (privateKeyJwk, adminPassword). */
  const publicPart = (state: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(state).filter(([k]) => k !== "privateKeyJwk" && k !== "adminPassword"));

  it("creates the account with a JWK key, grants the role, keeps other bindings; a re-run changes nothing", async () => {
    const r = fresh();
    const state = await r.create(inputs());
    const keyId = String(state["keyId"]);
    assert.equal(state["privateKeyJwk"], api.issuedKeys.get(keyId), "the output is the key TSB returned");
    assert.deepEqual(api.accounts.get(STANDBY_ACCOUNT_NAME)?.keys.map((k) => k.id), [keyId]);
    assert.equal(api.hasGrant(STANDBY_ACCOUNT_ROLE, SA), true);
    assert.ok(api.policy.allow.some((b) => b.role === "rbac/admin"), "the admin binding is still there");
    assert.match(String(state["note"]), /created service account/);
    assertNoSecrets(publicPart(state));

    const seen = api.requests.length;
    const again = await r.up(inputs());
    assert.equal(again.changes, false);
    assert.equal(api.requests.length, seen, "diff calls nothing and nothing else runs");
    const refreshed = await r.refresh();
    assert.equal(refreshed?.["privateKeyJwk"], state["privateKeyJwk"], "refresh keeps the key");
    assert.equal((await r.up(inputs())).changes, false);
  });

  it("recreates an account deleted by hand: refresh drops it, the next up creates it again", async () => {
    const r = fresh();
    const first = await r.create(inputs());
    api.accounts.delete(STANDBY_ACCOUNT_NAME);
    assert.equal(await r.refresh(), undefined, "gone from the state");
    const second = await r.up(inputs());
    assert.equal(second.changes, true);
    assert.notEqual(second.state["keyId"], first["keyId"]);
    assert.ok(api.accounts.has(STANDBY_ACCOUNT_NAME));
    assert.equal(api.policy.allow.filter((b) => b.role === STANDBY_ACCOUNT_ROLE).length, 1, "one binding, not a duplicate");
  });

  it("gives an account made elsewhere (tctl) a new key and says so in note", async () => {
    const tctlKey = api.addAccountMadeElsewhere(STANDBY_ACCOUNT_NAME);
    const state = await fresh().create(inputs());
    assert.notEqual(state["keyId"], tctlKey);
    assert.deepEqual(api.accounts.get(STANDBY_ACCOUNT_NAME)?.keys.map((k) => k.id), [tctlKey, state["keyId"]]);
    assert.equal(state["privateKeyJwk"], api.issuedKeys.get(String(state["keyId"])));
    assert.match(String(state["note"]), /generated key/);
    assert.ok(String(state["note"]).includes(tctlKey), "names the keys that stay valid");
    assertNoSecrets(publicPart(state));
  });

  it("replaces a held key revoked by hand: refresh marks it, the next up generates one", async () => {
    const r = fresh();
    await r.create(inputs());
    api.accounts.get(STANDBY_ACCOUNT_NAME)!.keys = [];
    assert.equal((await r.refresh())?.["keyHeld"], false);
    const next = await r.up(inputs());
    assert.equal(next.changes, true);
    assert.deepEqual(api.accounts.get(STANDBY_ACCOUNT_NAME)?.keys.map((k) => k.id), [next.state["keyId"]]);
  });

  it("merges again after a 409 (another writer) and keeps that writer's binding", async () => {
    api.beforeNextPolicyWrite = () => api.concurrentGrant("rbac/writer", "organizations/tetrate/users/bob");
    await fresh().create(inputs());
    assert.equal(api.hasGrant(STANDBY_ACCOUNT_ROLE, SA), true);
    assert.ok(api.policy.allow.some((b) => b.role === "rbac/writer"), "the concurrent grant survived");
    assert.equal(api.requests.filter((q) => q.method === "PUT").length, 2);
  });

  it("gives up on a policy that conflicts on every write, and the next run finishes the half-made account", async () => {
    api.inject({ method: "PUT", pathIncludes: "/policy", times: 3, action: { status: 409 } });
    const r = fresh();
    await assert.rejects(r.create(inputs({ conflictRetries: 2 })), (e: Error) => /409 conflict each time/.test(e.message));
    assert.equal(r.state, undefined, "a failed create saves nothing");
    assert.ok(api.accounts.has(STANDBY_ACCOUNT_NAME), "the account was made before the grant failed");
    const state = await r.create(inputs());
    assert.equal(api.hasGrant(STANDBY_ACCOUNT_ROLE, SA), true);
    assert.match(String(state["note"]), /generated key/);
    assert.equal(state["privateKeyJwk"], api.issuedKeys.get(String(state["keyId"])));
  });

  it("a TSB without the guessed new-key path: stops with the seed's commands, tries no other path, leaves the tctl account as it is", async () => {
    const tctlKey = api.addAccountMadeElsewhere(STANDBY_ACCOUNT_NAME);
    for (const status of [404, 405, 501]) {
      api.inject({ method: "POST", pathIncludes: ":generatekey", times: 1, action: { status, body: { code: 12, message: "Not Implemented" } } });
      const before = api.requests.length;
      await assert.rejects(fresh().create(inputs()), (e: Error) => {
        assert.match(e.message, new RegExp(`^site mp1: POST https://${FQDN}:${api.port}/v2/organizations/tetrate/serviceaccounts/tsb-standby-sa:generatekey answered ${status}: `));
        assert.match(e.message, /already exists and this stack holds none of its keys/);
        assert.match(e.message, /\n {2}tctl sa create tsb-standby-sa \| base64 -w0 > tsb-standby-sa-b64e\n {2}tctl get ab organizations\/tetrate -o yaml \| yq/);
        assert.match(e.message, /pulumi config set --secret tsb-ha:standbyServiceAccountJwk/);
        assertNoSecrets(e.message);
        return true;
      });
      const posts = api.requests.slice(before).filter((q) => q.method !== "GET").map((q) => `${q.method} ${q.path}`);
      assert.deepEqual(posts, [`POST /v2/organizations/${ORG}/serviceaccounts/${STANDBY_ACCOUNT_NAME}:generatekey`], `${status}: one try of the guessed path, no other`);
    }
    assert.deepEqual(api.accounts.get(STANDBY_ACCOUNT_NAME)?.keys.map((k) => k.id), [tctlKey]);
    assert.equal(api.hasGrant(STANDBY_ACCOUNT_ROLE, SA), false);
  });

  it("a TSB without the policy path: stops before making the account, with the seed's commands", async () => {
    api.inject({ method: "GET", pathIncludes: "/policy", times: 1, action: { status: 405, body: { code: 12, message: "Method Not Allowed" } } });
    await assert.rejects(fresh().create(inputs()), (e: Error) => {
      assert.match(e.message, /GET https:\/\/.*\/v2\/organizations\/tetrate\/policy answered 405: .*\nTSB's HTTP paths .* Nothing was made in TSB\./);
      assert.match(e.message, /tctl sa create tsb-standby-sa/);
      return true;
    });
    assert.equal(api.accounts.size, 0, "no account whose key nobody holds");
    assert.equal(api.requests.filter((q) => q.method !== "GET").length, 0);
  });

  it("a refused grant (the role does not exist): the account this run made is deleted again, and the message says so", async () => {
    api.inject({ method: "PUT", pathIncludes: "/policy", times: 1, action: { status: 400, body: { code: 3, message: "role rbac/org-reader not found" } } });
    await assert.rejects(fresh().create(inputs()), (e: Error) => {
      assert.match(e.message, /PUT .*\/policy answered 400: .*role rbac\/org-reader not found/);
      assert.match(e.message, /it was deleted again, so the commands below start clean/);
      assert.match(e.message, /set tsb\.standbyRole/);
      assertNoSecrets(e.message);
      return true;
    });
    assert.equal(api.accounts.has(STANDBY_ACCOUNT_NAME), false);
    assert.ok(api.requests.some((q) => q.method === "DELETE" && q.path.endsWith(`/serviceaccounts/${STANDBY_ACCOUNT_NAME}`)));

    api.inject({ method: "PUT", pathIncludes: "/policy", times: 1, action: { status: 404, body: { code: 5, message: "not found" } } });
    api.inject({ method: "DELETE", pathIncludes: "/serviceaccounts/", times: 1, action: { status: 403, body: { code: 7, message: "denied" } } });
    await assert.rejects(fresh().create(inputs()), /could not delete it again: delete it in TSB before the first command/);
  });

  it("a refused grant on a role change: the stack keeps its key; only the grant command is given", async () => {
    const r = fresh();
    await r.create(inputs());
    api.inject({ method: "PUT", pathIncludes: "/policy", times: 1, action: { status: 400, body: { code: 3, message: "role rbac/nope not found" } } });
    await assert.rejects(r.up(inputs({ role: "rbac/nope" })), (e: Error) => {
      assert.match(e.message, /only its grant is missing/);
      assert.match(e.message, /yq '\.spec\.allow \+= \[\{"role":"rbac\/nope"/);
      assert.doesNotMatch(e.message, /tctl sa create/);
      return true;
    });
    assert.ok(api.accounts.has(STANDBY_ACCOUNT_NAME), "the account the stack holds a key of stays");
  });

  it("401 names user admin and the stack's adminPassword, never the password", async () => {
    await assert.rejects(fresh().create(inputs({ adminPassword: "not-the-password" })), (e: Error) => {
      assert.match(e.message, /401/);
      assert.match(e.message, /user `admin`/);
      assert.match(e.message, /adminPassword/);
      assert.ok(!e.message.includes("not-the-password"));
      return true;
    });
    assert.equal(api.accounts.size, 0);
  });

  it("retries 5xx on creation and then creates exactly one account", async () => {
    api.inject({ method: "POST", pathIncludes: "/serviceaccounts", times: 2, action: { status: 502 } });
    const state = await fresh().create(inputs());
    assert.deepEqual(api.accounts.get(STANDBY_ACCOUNT_NAME)?.keys.map((k) => k.id), [state["keyId"]]);
    assert.equal(api.requests.filter((q) => q.method === "POST").length, 3);
  });

  it("gives up after bounded tries when the API does not answer", async () => {
    api.inject({ pathIncludes: "/serviceaccounts/", times: 2, action: "hang" });
    await assert.rejects(fresh().create(inputs({ attempts: 2, timeoutSeconds: 1 })), (e: Error) => {
      assert.match(e.message, /no answer within 1 s \(after 2 tries\)/);
      assertNoSecrets(e.message);
      return true;
    });
  });

  it("refuses a server whose certificate another CA issued", async () => {
    const stranger = await new FakeTsbApi({ fqdn: FQDN, pki: otherPki, password: PASSWORD, organization: ORG }).start();
    try {
      await assert.rejects(fresh().create(inputs({ port: stranger.port })), /TLS refused/);
      assert.equal(stranger.requests.length, 0);
    } finally {
      await stranger.stop();
    }
  });

  it("moves the grant on a role change and removes grant and account on delete", async () => {
    const r = fresh();
    await r.create(inputs());
    const changed = await r.up(inputs({ role: "rbac/reader" }));
    assert.equal(changed.changes, true);
    assert.equal(api.hasGrant("rbac/reader", SA), true);
    assert.equal(api.hasGrant(STANDBY_ACCOUNT_ROLE, SA), false);
    await r.destroy();
    assert.equal(api.accounts.has(STANDBY_ACCOUNT_NAME), false);
    assert.equal(api.hasGrant("rbac/reader", SA), false);
    assert.ok(api.policy.allow.some((b) => b.role === "rbac/admin"));
  });
});
