// The standby's service account as plain decisions: what to do with the account, reading the key TSB
// returns once, and adding/removing the reader grant without touching anyone else's bindings.
// (The same module runs through the engine's provider process in standbyServiceAccount.test.ts.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  accountKeyIds,
  decideAccountAction,
  grantRefused,
  hasGrant,
  manualAccountSteps,
  pathNotServed,
  privateKeyFromAnswer,
  serviceAccountFqn,
  STANDBY_ACCOUNT_NAME,
  withGrant,
  withoutGrant,
  type ManualAccountCase,
} from "../../lib/gates/standbyAccount";

const SA = serviceAccountFqn("tetrate", STANDBY_ACCOUNT_NAME);
const ROLE = "rbac/org-reader";
/** A private RSA JWK's shape; the values are placeholders (the module checks presence, not math). */
const JWK = { kty: "RSA", n: "n0", e: "AQAB", d: "d0", p: "p0", q: "q0", dp: "dp0", dq: "dq0", qi: "qi0" };

describe("account", () => {
  it("names the account as the seed does, under the organisation", () => {
    assert.equal(SA, "organizations/tetrate/serviceaccounts/tsb-standby-sa");
  });

  it("keeps a held key only while the account still lists it; an empty id is no key", () => {
    assert.equal(decideAccountAction(false, undefined, []), "create");
    assert.equal(decideAccountAction(true, "k1", ["k1"]), "keep");
    assert.equal(decideAccountAction(true, "", [""]), "newKey");
    assert.equal(decideAccountAction(true, undefined, []), "newKey");
  });

  it("lists the ids of the account's keys, skipping entries without a usable id", () => {
    assert.deepEqual(accountKeyIds({ keys: [{ id: "k1" }, { id: "" }, { id: 3 }, null, "k9", { id: "k2", publicKey: "pub" }] }), ["k1", "k2"]);
    assert.deepEqual(accountKeyIds({ keys: "k1" }), []);
    assert.deepEqual(accountKeyIds(null), []);
    assert.deepEqual(accountKeyIds([{ id: "k1" }]), [], "an array is not an account");
  });
});

describe("privateKeyFromAnswer", () => {
  it("reads a KeyPair answer itself (a generated key), keeping the JWK's own kid over the id", () => {
    const r = privateKeyFromAnswer({ id: "id-1", privateKey: { ...JWK, kid: "kid-1" } });
    assert.equal(r.keyId, "kid-1");
    assert.deepEqual(JSON.parse(r.jwk), { ...JWK, kid: "kid-1" });
  });

  it("reads a privateKey sent as JSON text or as base64 of it", () => {
    for (const privateKey of [JSON.stringify(JWK), Buffer.from(JSON.stringify(JWK)).toString("base64")]) {
      assert.deepEqual(JSON.parse(privateKeyFromAnswer({ keys: [{ id: "k7", privateKey }] }).jwk), { ...JWK, kid: "k7" });
    }
  });

  it("takes the first key that holds a private key, and the id when the JWK's kid is empty", () => {
    const r = privateKeyFromAnswer({ keys: [{ id: "pub-only", publicKey: "x" }, { id: "empty", privateKey: "" }, null, { id: "id-2", privateKey: { ...JWK, kid: "" } }] });
    assert.equal(r.keyId, "id-2");
    assert.equal((JSON.parse(r.jwk) as { kid: string }).kid, "id-2");
  });

  it("refuses, with a message that holds no key material", () => {
    const refuse = (answer: unknown, message: RegExp) => assert.throws(() => privateKeyFromAnswer(answer), (e: Error) => {
      assert.match(e.message, message);
      assert.ok(!e.message.includes("d0") && !e.message.includes("SECRET"), "no key material");
      return true;
    });
    refuse({}, /^the answer holds no private key \(keys\[\]\.privateKey is missing; TSB returns it only once, in the answer that made the key\)$/);
    refuse(null, /^the answer holds no private key/);
    refuse({ keys: [{ id: "k", privateKey: "SECRET-not-json" }] }, /^keys\[\]\.privateKey is not a JWK \(was the key requested with keyEncoding JWK\?\)$/);
    refuse({ keys: [{ id: "k", privateKey: JSON.stringify(["SECRET"]) }] }, /^keys\[\]\.privateKey is not a JWK/);
    refuse({ keys: [{ id: 5, privateKey: JWK }] }, /^the key has neither a kid nor an id$/);
    refuse({ keys: [{ id: "k", privateKey: { ...JWK, kty: "EC" } }] }, /^the key has kty "EC", not RSA$/);
    refuse({ keys: [{ id: "k", privateKey: { ...JWK, dp: "", qi: 1 } }] }, /^the key lacks dp, qi: not a private RSA JWK$/);
  });
});

describe("grants", () => {
  const policy = { etag: "e7", allow: [{ role: "rbac/admin", subjects: [{ user: "u1" }, { serviceAccount: SA }] }, "junk", { role: ROLE, subjects: "junk" }] };

  it("sees a grant only for the role and the service account subject together", () => {
    assert.equal(hasGrant(policy, "rbac/admin", SA), true);
    assert.equal(hasGrant(policy, ROLE, SA), false, "the account is bound to another role");
    assert.equal(hasGrant({ allow: [{ role: ROLE, subjects: [{ user: SA }] }] }, ROLE, SA), false, "a user of the same name is not the account");
    assert.equal(hasGrant({ allow: "x" }, ROLE, SA), false);
    assert.equal(hasGrant(null, ROLE, SA), false);
    assert.equal(hasGrant({ allow: [{ role: ROLE, subjects: [null, "junk", { serviceAccount: SA }] }] }, ROLE, SA), true, "unreadable subjects are skipped, not fatal");
  });

  it("grants into a binding whose subjects are unreadable by starting them fresh, keeping the rest", () => {
    const r = withGrant(policy, ROLE, SA);
    assert.equal(r.changed, true);
    assert.deepEqual(r.policy, { etag: "e7", allow: [policy.allow[0], { role: ROLE, subjects: [{ serviceAccount: SA }] }] });
    assert.deepEqual(policy.allow[0], { role: "rbac/admin", subjects: [{ user: "u1" }, { serviceAccount: SA }] }, "the input is not changed");
  });

  it("grants into an empty or missing policy", () => {
    assert.deepEqual(withGrant(undefined, ROLE, SA), { changed: true, policy: { allow: [{ role: ROLE, subjects: [{ serviceAccount: SA }] }] } });
  });

  it("changes nothing when there is nothing to add or remove, and returns the policy as it was", () => {
    assert.deepEqual(withGrant(policy, "rbac/admin", SA), { changed: false, policy: { ...policy } });
    assert.deepEqual(withoutGrant({ etag: "e1" }, ROLE, SA), { changed: false, policy: { etag: "e1" } });
    assert.deepEqual(withoutGrant(null, ROLE, SA), { changed: false, policy: {} });
  });

  it("removes only the account from the role's binding, and drops that binding once empty", () => {
    const shared = { etag: "e2", allow: [{ role: ROLE, subjects: [{ team: "t1" }, { serviceAccount: SA }] }, { role: "rbac/admin", subjects: [{ serviceAccount: SA }] }] };
    assert.deepEqual(withoutGrant(shared, ROLE, SA), { changed: true, policy: { etag: "e2", allow: [{ role: ROLE, subjects: [{ team: "t1" }] }, shared.allow[1]] } });
    const alone = { allow: [{ role: ROLE, subjects: [{ serviceAccount: SA }] }, { role: "rbac/admin", subjects: [] }] };
    assert.deepEqual(withoutGrant(alone, ROLE, SA).policy, { allow: [{ role: "rbac/admin", subjects: [] }] }, "another role's empty binding is not ours to drop");
  });
});

describe("where TSB does not serve what the program would call", () => {
  it("a path TSB does not serve (404, 405, 501) or a refused grant (also 400) is not retried with another guess", () => {
    assert.deepEqual([400, 401, 403, 404, 405, 409, 412, 500, 501, 503].filter(pathNotServed), [404, 405, 501]);
    assert.deepEqual([200, 400, 401, 403, 404, 405, 409, 412, 500, 501, 503].filter(grantRefused), [400, 404, 405, 501]);
  });

  it("stops with the seed's manual commands and the config key, for what the person finds in TSB", () => {
    const c = (account: ManualAccountCase["account"]): string => manualAccountSteps({
      site: "mp1", organization: "acme", accountName: "tsb-standby-sa", role: "rbac/reader", answer: "POST https://mp1:443/x:generatekey answered 404: no route", account,
    });
    const seedCreate = "  tctl sa create tsb-standby-sa | base64 -w0 > tsb-standby-sa-b64e";
    const seedGrant = `  tctl get ab organizations/acme -o yaml | yq '.spec.allow += [{"role":"rbac/reader","subjects":[{"serviceAccount":"organizations/acme/serviceaccounts/tsb-standby-sa"}]}]' | tctl apply -f -`;
    const config = `  pulumi config set --secret tsb-ha:standbyServiceAccountJwk "$(cat tsb-standby-sa-b64e)"`;
    const first = "site mp1: POST https://mp1:443/x:generatekey answered 404: no route.";
    const cases: Array<[ManualAccountCase["account"], string]> = [
      ["none", "Nothing was made in TSB."],
      ["removed", "This run had made organizations/acme/serviceaccounts/tsb-standby-sa; it was deleted again, so the commands below start clean."],
      ["existed", "organizations/acme/serviceaccounts/tsb-standby-sa already exists and this stack holds none of its keys: if you made it with tctl and kept tsb-standby-sa-b64e, skip the first command; otherwise delete the account in TSB first."],
      ["left", "This run made organizations/acme/serviceaccounts/tsb-standby-sa and could not delete it again: delete it in TSB before the first command."],
    ];
    for (const [account, found] of cases) {
      const lines = c(account).split("\n");
      assert.equal(lines[0], first);
      assert.equal(lines[1], `TSB's HTTP paths for a new service-account key and for the organisation's access policy are not public, so the program does not try another one. ${found}`);
      assert.equal(lines[2], "Make the account by hand on mp1, as the seed does (active step 5; role rbac/reader from tsb.standbyRole):");
      assert.deepEqual(lines.slice(3), [seedCreate, seedGrant, "then give the stack its key (with it in config the program makes no account) and run pulumi up again:", config,
        "If TSB refused the role, check the roles it has (tctl get ab organizations/<org> -o yaml) and set tsb.standbyRole, or grant another by hand. docs/tsb-api.md, \"Making the account by hand\"."]);
    }
    const held = c("held").split("\n");
    assert.equal(held[0], first);
    assert.equal(held[1], "The stack holds a key of organizations/acme/serviceaccounts/tsb-standby-sa; only its grant is missing, and the program does not try another path. Grant it by hand on mp1, as the seed does (active step 5), then run pulumi up again:");
    assert.equal(held[2], seedGrant);
    assert.equal(held.length, 4, "no tctl sa create: the stack holds the key");
    assert.ok(!c("held").includes("standbyServiceAccountJwk"));
  });
});
