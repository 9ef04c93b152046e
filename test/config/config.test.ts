// Config validation: every bad value of the issue stops the program with one message that names the
// key, the value and what is allowed, before any resource is registered.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, type RawConfig } from "../../lib/config/config";
import { ConfigError } from "../../lib/config/errors";
import { runProgram } from "../harness/runProgram";
import { baseConfig, input, makeJwk } from "../fixtures";

const SECRET = new Set(["standbyServiceAccountJwk"]);

function raw(config: Record<string, unknown>): RawConfig {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

function errorOf(config: Record<string, unknown>): string {
  try {
    parseConfig(raw(config), SECRET);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail("config was accepted");
}

const publicJwk = (() => {
  const j = JSON.parse(makeJwk()) as Record<string, string>;
  return JSON.stringify({ kty: j["kty"], n: j["n"], e: j["e"], kid: "k" });
})();
const noKid = (() => {
  const j = JSON.parse(makeJwk()) as Record<string, string>;
  delete j["kid"];
  return JSON.stringify(j);
})();

// [case, config, key named, value shown, what is allowed]
const BAD: Array<[string, Record<string, unknown>, string, string, RegExp]> = [
  ["unknown activeSite", baseConfig({ activeSite: "mp9" }), "tsb-ha:activeSite", '"mp9"', /not one of the sites \(mp1, mp2\)/],
  ["empty sites", baseConfig({ sites: {} }), "tsb-ha:sites", "{}", /is empty/],
  ["site name not a DNS label", baseConfig({ sites: { mp1: {}, MP_2: {} } }), "tsb-ha:sites.MP_2", '"MP_2"', /not a DNS label/],
  ["active marked fenced", baseConfig({ sites: { mp1: { state: "fenced" }, mp2: {} } }), "tsb-ha:sites.mp1.state", '"fenced"', /never promoted/],
  ["active marked lost", baseConfig({ sites: { mp1: { state: "lost" }, mp2: {} } }), "tsb-ha:sites.mp1.state", '"lost"', /never promoted/],
  ["unknown state", baseConfig({ sites: { mp1: {}, mp2: { state: "paused" } } }), "tsb-ha:sites.mp2.state", '"paused"', /Allowed: standby, fenced, lost/],
  ["unknown DNS provider", baseConfig({ dns: { provider: "gcp", zoneId: "z" } }), "tsb-ha:dns.provider", '"gcp"', /Allowed: route53, cloudflare/],
  ["TTL 0", baseConfig({ dns: { provider: "route53", zoneId: "z", ttl: 0 } }), "tsb-ha:dns.ttl", "0", /from 1 to 86400/],
  ["TTL above a day", baseConfig({ dns: { provider: "route53", zoneId: "z", ttl: 86401 } }), "tsb-ha:dns.ttl", "86401", /from 1 to 86400/],
  ["two sites, one FQDN", baseConfig({ sites: { mp1: {}, mp2: { fqdn: "mp1.tsb.example.com" } } }), "tsb-ha:sites.mp2.fqdn", '"mp1.tsb.example.com"', /also site mp1's FQDN/],
  ["malformed domain", baseConfig({ domain: "tsb..example" }), "tsb-ha:domain", '"tsb..example"', /not a DNS name/],
  ["JWK that is public", baseConfig({ standbyServiceAccountJwk: publicJwk }), "tsb-ha:standbyServiceAccountJwk", "(secret, not shown)", /lacks d, p, q, dp, dq, qi: it is a public key/],
  ["JWK without kid", baseConfig({ standbyServiceAccountJwk: noKid }), "tsb-ha:standbyServiceAccountJwk", "(secret, not shown)", /has no kid/],
  ["JWK that is not JSON", baseConfig({ standbyServiceAccountJwk: "not a key!" }), "tsb-ha:standbyServiceAccountJwk", "(secret, not shown)", /neither JSON nor base64/],
  ["record mode misspelt", baseConfig({ dns: { provider: "route53", zoneId: "z", siteRecords: "manged" } }), "tsb-ha:dns.siteRecords", '"manged"', /Allowed: external .* or managed/],
  ["verifyApi as text", baseConfig({ tsb: { version: "1.12.4", registry: "r.example.com/t", organization: "tetrate", verifyApi: "false" } }), "tsb-ha:tsb.verifyApi", '"false"', /is text, not a boolean/],
  ["a catch-up timeout below the standby's replay delay", baseConfig({ replication: { catchUpTimeoutSeconds: 10 } }), "tsb-ha:replication.catchUpTimeoutSeconds", "10", /from 35 to 3600/],
  ["a lost-contact limit a healthy idle standby fails", baseConfig({ replication: { maxLostContactSeconds: 20 } }), "tsb-ha:replication.maxLostContactSeconds", "20", /from 60 to 604800/],
  ["acceptDataLoss that names no failover", baseConfig({ replication: { acceptDataLoss: true } }), "tsb-ha:replication.acceptDataLoss", "true", /Allowed: a non-empty string/],
  ["acceptDataLoss for an unknown site", baseConfig({ replication: { acceptDataLoss: "mp1->mp9" } }), "tsb-ha:replication.acceptDataLoss", '"mp1->mp9"', /is not a failover\. Allowed: "<old active>-><new active>" naming two sites \(mp1, mp2\)/],
  ["port out of range", baseConfig({ tsb: { version: "1.12.4", registry: "r.example.com/t", organization: "tetrate", frontEnvoyPort: 70000 } }), "tsb-ha:tsb.frontEnvoyPort", "70000", /from 1 to 65535/],
  ["organization in upper case", baseConfig({ tsb: { version: "1.12.4", registry: "r.example.com/t", organization: "Tetrate" } }), "tsb-ha:tsb.organization", '"Tetrate"', /lower-case/],
  ["unknown key in a site", baseConfig({ sites: { mp1: {}, mp2: { contxt: "mp2" } } }), "tsb-ha:sites.mp2.contxt", '"mp2"', /Allowed: context, kubeconfig/],
  ["floating FQDN equal to a site's", baseConfig({ floatingFqdn: "mp2.tsb.example.com" }), "tsb-ha:floatingFqdn", '"mp2.tsb.example.com"', /also site mp2's permanent FQDN/],
  // What a tired person writes (issue 7, item 5).
  ["misspelt activeSite, nearest site suggested", baseConfig({ activeSite: "mp-2", sites: { mp1: {}, mp2: {}, "prod-east": {} } }), "tsb-ha:activeSite", '"mp-2"',
    /not one of the sites \(mp1, mp2, prod-east\)\. Did you mean mp2\? Fix: pulumi config set tsb-ha:activeSite mp2/],
  ["misspelt activeSite, nearest is not the first", baseConfig({ activeSite: "eu-wset", sites: { "us-east": {}, "eu-west": {} } }), "tsb-ha:activeSite", '"eu-wset"', /Did you mean eu-west\?/],
  ["activeSite far from every site: no guess", baseConfig({ activeSite: "zzzzzzzz" }), "tsb-ha:activeSite", '"zzzzzzzz"', /\(mp1, mp2\)\. Fix: pulumi config set tsb-ha:activeSite <one of the sites>/],
  ["dotted key set without --path", { ...baseConfig(), "sites.mp1.state": "fenced" }, "tsb-ha:sites.mp1.state", '"fenced"',
    /set without --path.*Fix: pulumi config rm 'tsb-ha:sites\.mp1\.state' \(removes the stray key\), then pulumi config set --path 'tsb-ha:sites\.mp1\.state' <value>/],
  ["TTL given as text", baseConfig({ dns: { provider: "route53", zoneId: "z", ttl: "60" } }), "tsb-ha:dns.ttl", '"60"',
    /is text, not a number\..*pulumi config set --path 'tsb-ha:dns\.ttl' 60/],
  ["port given as text", baseConfig({ tsb: { version: "1.12.4", registry: "r.example.com/t", organization: "tetrate", frontEnvoyPort: "443" } }), "tsb-ha:tsb.frontEnvoyPort", '"443"', /is text, not a number/],
  ["rebuild given as text", baseConfig({ sites: { mp1: {}, mp2: { rebuild: "1" } } }), "tsb-ha:sites.mp2.rebuild", '"1"', /is text, not a number/],
  ["misspelt top-level key", { ...baseConfig(), floatingFQDN: "x.tsb.example.com" }, "tsb-ha:floatingFQDN", '"x.tsb.example.com"', /did you mean floatingFqdn\?/],
];

describe("config validation (pure)", () => {
  for (const [name, config, key, value, allowed] of BAD) {
    it(`rejects ${name}`, () => {
      const message = errorOf(config);
      assert.ok(message.startsWith(`${key} `), `names the key: ${message}`);
      assert.ok(message.includes(value), `shows the value ${value}: ${message}`);
      assert.match(message, allowed);
      assert.equal(message.split("\n").length, 1, "one line");
    });
  }

  it("takes kubeconfig contents only from the secret kubeconfigs key", () => {
    const contents = "apiVersion: v1\nkind: Config\nclusters: []\n";
    const inline = errorOf(baseConfig({ sites: { mp1: { kubeconfig: contents }, mp2: {} } }));
    assert.match(inline, /^tsb-ha:sites\.mp1\.kubeconfig = "\(contents, not shown\)" holds kubeconfig contents in plain text/);
    assert.ok(!inline.includes("kind: Config"));
    const config = baseConfig({ kubeconfigs: { mp2: contents } });
    assert.throws(() => parseConfig(raw(config), SECRET), /tsb-ha:kubeconfigs = "\(contents, not shown\)" is stored in plain text/);
    const { config: parsed } = parseConfig(raw(config), new Set([...SECRET, "kubeconfigs"]));
    assert.equal(parsed.sites.find((s) => s.name === "mp2")!.kubeconfig, contents);
    assert.throws(() => parseConfig(raw(baseConfig({ kubeconfigs: { mp9: contents } })), new Set([...SECRET, "kubeconfigs"])),
      (e: Error) => /^tsb-ha:kubeconfigs\.mp9 = "mp9" is not one of the sites \(mp1, mp2\)$/.test(e.message), "a tie (mp1 or mp2) suggests nothing");
    assert.throws(() => parseConfig(raw(baseConfig({ kubeconfigs: { "mp-1": contents } })), new Set([...SECRET, "kubeconfigs"])),
      (e: Error) => /^tsb-ha:kubeconfigs\.mp-1 = "mp-1" is not one of the sites \(mp1, mp2\) \(did you mean mp1\?\)$/.test(e.message));
  });

  it("needs no JWK: without one the program makes the standby service account", () => {
    const { config } = parseConfig(raw(baseConfig({ standbyServiceAccountJwk: undefined })), SECRET);
    assert.equal(config.standbyServiceAccountJwk, undefined);
  });

  it("never prints the JWK, even when it is malformed", () => {
    const secretText = "eyJrdHkiOiJFQyJ9-do-not-print";
    const message = errorOf(baseConfig({ standbyServiceAccountJwk: secretText }));
    assert.ok(!message.includes(secretText));
  });

  it("refuses a JWK stored in plain text", () => {
    assert.throws(() => parseConfig(raw(baseConfig()), new Set()), /stored in plain text\. Allowed: a secret/);
  });

  it("accepts the JWK as the seed's base64 file", () => {
    const jwk = makeJwk("kid-b64");
    const { config } = parseConfig(raw(baseConfig({ standbyServiceAccountJwk: Buffer.from(jwk).toString("base64") })), SECRET);
    assert.equal((JSON.parse(config.standbyServiceAccountJwk!) as { kid: string }).kid, "kid-b64");
  });

  it("warns above a TTL of 300 but accepts it", () => {
    const { config, warnings } = parseConfig(raw(baseConfig({ dns: { provider: "cloudflare", zoneId: "z", ttl: 600 } })), SECRET);
    assert.equal(config.dns.ttl, 600);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /dns\.ttl is 600/);
  });

  it("fills the defaults of the contract", () => {
    const { config, warnings } = parseConfig(raw(baseConfig()), SECRET);
    assert.deepEqual(warnings, []);
    assert.equal(config.floatingFqdn, "active.tsb.example.com");
    assert.deepEqual(config.sites.map((s) => [s.name, s.fqdn, s.state, s.rebuild]), [
      ["mp1", "mp1.tsb.example.com", "standby", 0],
      ["mp2", "mp2.tsb.example.com", "standby", 0],
    ]);
    assert.equal(config.dns.ttl, 60);
    assert.equal(config.tsb.frontEnvoyPort, 443);
    assert.equal(config.tsb.readyTimeoutSeconds, 600);
    assert.equal(config.tsb.chartRepo, "https://charts.dl.tetrate.io/public/helm/charts/");
  });

  it("does not need a JWK when no site is a standby", () => {
    const { config } = parseConfig(raw(baseConfig({ standbyServiceAccountJwk: undefined, sites: { mp1: {}, mp2: { state: "lost" } } })), SECRET);
    assert.equal(config.standbyServiceAccountJwk, undefined);
  });

  it("reads an address as A, AAAA or CNAME", () => {
    const { config } = parseConfig(raw(baseConfig({
      sites: { mp1: { address: "203.0.113.10" }, mp2: { address: "2001:db8::1" }, mp3: { address: "lb-123.elb.example.net" } },
    })), SECRET);
    assert.deepEqual(config.sites.map((s) => s.address?.kind), ["A", "AAAA", "CNAME"]);
  });
});

describe("config validation (program under mocks)", () => {
  it("stops every bad config before any resource is registered, with the same message", async () => {
    // Child processes: four at a time keeps two cores busy without thrashing.
    const cases = BAD.slice();
    while (cases.length > 0) {
      const batch = cases.splice(0, 4);
      const results = await Promise.all(batch.map(([, config]) => runProgram(input(config))));
      results.forEach((result, i) => {
        const [name, config] = batch[i]!;
        assert.deepEqual(result.registrations, [], `${name}: nothing registered`);
        assert.equal(result.errors.length, 1, `${name}: one message, got ${JSON.stringify(result.errors)}`);
        assert.equal(result.errors[0], errorOf(config), `${name}: the validator's message`);
      });
    }
  });
});
