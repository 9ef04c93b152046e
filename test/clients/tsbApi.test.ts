// Failover step 3b (issue 8, item 3): the promoted site's TSB API answers with the organisation,
// over TLS verified against the set's root CA, as the set's admin. The decision is tested on plain
// answers; the resource runs as the engine runs it (fresh provider process per operation) against a
// local HTTPS server whose certificate a real root CA issued.
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { EngineDrivenResource } from "../harness/dynamicProvider";
import { FakeTsbApi, makePki, type TestPki } from "../harness/fakeTsbApi";
import { tsbApiVerificationProvider } from "../../components/tsbApiVerification";
import { decideApiVerification, type ApiReply } from "../../lib/gates/tsbVerify";
import { redact } from "../../lib/clients/tsbApi";

const FQDN = "mp2.tsb.example.test";
const PASSWORD = "s3cret-Admin-pw!";
const ORG = "tetrate";

const ok = (body: unknown): ApiReply => ({ status: 200, body, summary: JSON.stringify(body) });

describe("decideApiVerification (pure)", () => {
  const base = { site: "mp2", url: `https://${FQDN}:443/v2/organizations/${ORG}`, organization: ORG };

  it("passes and counts tenants and clusters when the organisation answers", () => {
    const r = decideApiVerification({ ...base, org: ok({ fqn: `organizations/${ORG}` }), tenants: ok({ tenants: [{}, {}] }), clusters: ok({ clusters: [{}, {}, {}] }) });
    assert.deepEqual(r.ok && [r.organization, r.tenants, r.clusters], [ORG, 2, 3]);
  });

  it("counts an omitted list as zero (grpc-gateway drops empty repeated fields)", () => {
    const r = decideApiVerification({ ...base, org: ok({ fqn: `organizations/${ORG}` }), tenants: ok({}), clusters: ok({}) });
    assert.deepEqual(r.ok && [r.tenants, r.clusters], [0, 0]);
  });

  it("fails on another organisation, naming site, URL and answer", () => {
    const r = decideApiVerification({ ...base, org: ok({ fqn: "organizations/other" }), tenants: ok({}), clusters: ok({}) });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.message, /site mp2/);
      assert.ok(r.message.includes(base.url));
      assert.match(r.message, /"other"/);
    }
  });

  it("fails when the organisation does not exist (404) and when a list is not a list", () => {
    const missing = decideApiVerification({ ...base, org: { status: 404, body: {}, summary: "not found" }, tenants: ok({}), clusters: ok({}) });
    assert.equal(missing.ok, false);
    const broken = decideApiVerification({ ...base, org: ok({ fqn: `organizations/${ORG}` }), tenants: ok({ tenants: "x" }), clusters: ok({}) });
    assert.equal(broken.ok, false);
  });
});

describe("redact", () => {
  it("removes the password and private key members from a text", () => {
    const t = redact(`{"privateKey":"{\\"d\\":\\"abc\\"}","x":"${PASSWORD}","d":"zzz"}`, PASSWORD);
    assert.ok(!t.includes(PASSWORD) && !t.includes("abc") && !t.includes("zzz"));
  });
});

describe("TsbApiVerification through the engine's provider process", () => {
  // One resource object for the file, emptied before each use: its serialized provider is kept
  // (the harness serializes once per object, about a second each), the life starts anew.
  const shared = new EngineDrivenResource(tsbApiVerificationProvider);
  const fresh = () => {
    shared.id = undefined;
    shared.state = undefined;
    return shared;
  };
  let pki: TestPki;
  let otherPki: TestPki;
  let api: FakeTsbApi;
  let stranger: FakeTsbApi;

  before(async () => {
    pki = makePki(FQDN);
    otherPki = makePki(FQDN, "some other root");
    api = await new FakeTsbApi({ fqdn: FQDN, pki, password: PASSWORD, organization: ORG }).start();
    stranger = await new FakeTsbApi({ fqdn: FQDN, pki: otherPki, password: PASSWORD, organization: ORG }).start();
  });
  after(async () => {
    await api.stop();
    await stranger.stop();
  });

  const inputs = (over: Record<string, unknown> = {}) => ({
    site: "mp2", fqdn: FQDN, port: api.port, organization: ORG, rootCaPem: pki.caPem, adminPassword: PASSWORD,
    address: "127.0.0.1", promotion: "mp1->mp2", attempts: 3, timeoutSeconds: 5, backoffMs: 20, ...over,
  });
  const noSecret = (text: string) => assert.ok(!text.includes(PASSWORD), "the admin password must never appear");

  it("passes, reports organisation and counts, keeps no password; a re-run with the same inputs calls nothing", async () => {
    const r = fresh();
    const state = await r.create(inputs());
    assert.equal(state["organization"], ORG);
    assert.equal(state["tenants"], api.tenants.length);
    assert.equal(state["clusters"], api.clusters.length);
    assert.match(String(state["summary"]), new RegExp(`mp2.*${FQDN}`));
    assert.ok(!Number.isNaN(Date.parse(String(state["checkedAt"]))));
    noSecret(JSON.stringify(state));
    assert.ok(api.requests.every((q) => q.authorized), "the admin credentials were sent");
    const seen = api.requests.length;
    const again = await r.up(inputs());
    assert.equal(again.changes, false);
    assert.equal(api.requests.length, seen, "no call without a change");
    const failover = await r.up(inputs({ promotion: "mp2->mp1" }));
    assert.equal(failover.changes, true);
    assert.ok(api.requests.length > seen, "a new promotion checks again");
  });

  it("fails on a wrong organisation with a message naming site, URL and answer", async () => {
    const r = fresh();
    await assert.rejects(r.create(inputs({ organization: "acme" })), (e: Error) => {
      assert.match(e.message, /site mp2/);
      assert.ok(e.message.includes(`https://${FQDN}:${api.port}/v2/organizations/acme`));
      assert.match(e.message, /404/);
      noSecret(e.message);
      return true;
    });
    assert.equal(r.state, undefined);
  });

  it("401 names the credential (user admin, stack output adminPassword) and is not retried", async () => {
    const r = fresh();
    const before = api.requests.length;
    await assert.rejects(r.create(inputs({ adminPassword: "wrong-password" })), (e: Error) => {
      assert.match(e.message, /401/);
      assert.match(e.message, /user `admin`/);
      assert.match(e.message, /adminPassword/);
      assert.ok(!e.message.includes("wrong-password"));
      return true;
    });
    assert.equal(api.requests.length - before, 1, "a 4xx is not retried");
  });

  it("retries 5xx and then passes", async () => {
    api.inject({ pathIncludes: `/v2/organizations/${ORG}`, method: "GET", times: 2, action: { status: 503 } });
    const before = api.requests.length;
    const state = await fresh().create(inputs());
    assert.equal(state["organization"], ORG);
    assert.equal(api.requests.length - before, 5, "two 503s, then the organisation, tenants and clusters");
  });

  it("gives up after the bounded tries when the API does not answer", async () => {
    api.inject({ pathIncludes: `/v2/organizations/${ORG}`, times: 2, action: "hang" });
    const started = Date.now();
    await assert.rejects(fresh().create(inputs({ attempts: 2, timeoutSeconds: 1 })), (e: Error) => {
      assert.match(e.message, /no answer within 1 s \(after 2 tries\)/);
      assert.match(e.message, /site mp2/);
      return true;
    });
    assert.ok(Date.now() - started < 20_000, "bounded in time");
  });

  it("refuses a server certificate from another CA, without retrying and without sending the password", async () => {
    await assert.rejects(fresh().create(inputs({ port: stranger.port })), (e: Error) => {
      assert.match(e.message, /TLS refused/);
      assert.match(e.message, /root CA/);
      noSecret(e.message);
      return true;
    });
    assert.equal(stranger.requests.length, 0, "no request (and so no credentials) reached the untrusted server");
  });
});
