// Issue 19, section 4: a secret never reaches a message. Each kind of bad key is set as a secret (as
// `pulumi config set --secret` stores it: the key listed among the secret keys, lib/config/loadConfig.ts), and
// every message the program gives is searched for the secret's text and for each part of it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, type RawConfig } from "../lib/config/config";
import { ConfigError } from "../lib/config/errors";
import { runProgram } from "./harness/runProgram";
import { baseConfig, input } from "./fixtures";

const PASSWORD = "hunter2-Tr0ub4dor-e4c8";
const LDAP = { secrets: { ldap: { binddn: "cn=svc-tsb,dc=corp,dc=example", bindpassword: PASSWORD } } };
const TSB = { version: "1.12.4", registry: "registry.example.com/tetrate", organization: "tetrate" };

const raw = (config: Record<string, unknown>): RawConfig =>
  Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));

/** The secret texts a message must not contain: the whole value and every string in it of 4 characters or more. */
function partsOf(value: unknown): string[] {
  const out = new Set<string>([typeof value === "string" ? value : JSON.stringify(value)]);
  const walk = (v: unknown): void => {
    if (typeof v === "string" && v.length >= 4) out.add(v);
    else if (typeof v === "number" && String(v).length >= 4) out.add(String(v));
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk);
  };
  walk(value);
  return [...out];
}

// [case, extra config, the secret key(s), the key the message names, the secret's value]
type Case = [string, Record<string, unknown>, string[], string, unknown];
const CASES: Case[] = [
  ["an unknown key (a typo of secretValues)", { secretValue: LDAP }, ["secretValue"], "tsb-ha:secretValue", LDAP],
  ["a dotted key set without --path", { "secretValues.secrets.ldap.bindpassword": PASSWORD }, ["secretValues.secrets.ldap.bindpassword"], "tsb-ha:secretValues.secrets.ldap.bindpassword", PASSWORD],
  ["a dotted key of a known object set without --path", { "dns.zoneId": "Z-secret-zone-4711" }, ["dns.zoneId"], "tsb-ha:dns.zoneId", "Z-secret-zone-4711"],
  ["a secret dns object with a wrong provider", { dns: { provider: "route-53-Zk9sekret", zoneId: "Zsecretzone123" } }, ["dns"], "tsb-ha:dns.provider", { provider: "route-53-Zk9sekret", zoneId: "Zsecretzone123" }],
  ["a secret tsb object with credentials in the registry", { tsb: { ...TSB, registry: `https://robot:${PASSWORD}@registry.example.com` } }, ["tsb"], "tsb-ha:tsb.registry", { ...TSB, registry: `https://robot:${PASSWORD}@registry.example.com` }],
  ["a secret tsb object with the port as text", { tsb: { ...TSB, frontEnvoyPort: "8443" } }, ["tsb"], "tsb-ha:tsb.frontEnvoyPort", "8443"],
  ["a secret replication object naming no failover", { replication: { acceptDataLoss: `mp1->${PASSWORD}` } }, ["replication"], "tsb-ha:replication.acceptDataLoss", `mp1->${PASSWORD}`],
  ["secretValues at a path the program owns", { secretValues: { spec: { hub: `robot:${PASSWORD}@mirror.example.com` } } }, ["secretValues"], "tsb-ha:secretValues.spec.hub", `robot:${PASSWORD}@mirror.example.com`],
  ["secretValues that is not a map", { secretValues: `bindpassword=${PASSWORD}` }, ["secretValues"], "tsb-ha:secretValues", `bindpassword=${PASSWORD}`],
  ["secretValues with an external data store", { secretValues: { spec: { dataStore: { postgres: { address: `db.example.com:5432/${PASSWORD}` } } } } }, ["secretValues"], "tsb-ha:secretValues.spec.dataStore", PASSWORD],
  ["values held as a secret at an owned path", { values: { secrets: { tsb: { adminPassword: PASSWORD } } } }, ["values"], "tsb-ha:values.secrets.tsb.adminPassword", PASSWORD],
  ["siteSecretValues for an unknown site", { siteSecretValues: { mp9: LDAP } }, ["siteSecretValues"], "tsb-ha:siteSecretValues.mp9", LDAP],
  ["siteSecretValues overlapping a site's values", { sites: { mp1: { context: "mp1" }, mp2: { context: "mp2", values: { spec: { telemetryStore: { elastic: { host: "es-2.example.com" } } } } } }, siteSecretValues: { mp2: { spec: { telemetryStore: { elastic: { host: `es-${PASSWORD}.example.com` } } } } } }, ["siteSecretValues"], "tsb-ha:siteSecretValues.mp2", `es-${PASSWORD}.example.com`],
  ["kubeconfigs for an unknown site", { kubeconfigs: { mp9: `token: ${PASSWORD}` } }, ["kubeconfigs"], "tsb-ha:kubeconfigs.mp9", `token: ${PASSWORD}`],
  ["adoptedValues without an adopted site", { adoptedValues: `secrets:\n  tsb:\n    adminPassword: ${PASSWORD}\n` }, ["adoptedValues"], "tsb-ha:adoptedValues", PASSWORD],
  ["a JWK that is no JWK", { standbyServiceAccountJwk: `{"kty":"oct","k":"${PASSWORD}"}` }, [], "tsb-ha:standbyServiceAccountJwk", PASSWORD],
];

function refusal(extra: Record<string, unknown>, secretKeys: string[]): string {
  try {
    parseConfig(raw(baseConfig(extra)), new Set(["standbyServiceAccountJwk", ...secretKeys]));
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("the config was accepted");
}

describe("a secret never reaches a message", () => {
  for (const [name, extra, secretKeys, key, value] of CASES) {
    it(`refuses ${name} without its value`, () => {
      const message = refusal(extra, secretKeys);
      assert.ok(message.startsWith(key), `names the key: ${message}`);
      for (const part of partsOf(value)) assert.ok(!message.includes(part), `shows ${JSON.stringify(part)}: ${message}`);
    });
  }

  it("hides a secret key's short values where the fix would repeat them", () => {
    const message = refusal({ dns: { provider: "route53", zoneId: "Z0123456789", ttl: "60" } }, ["dns"]);
    assert.match(message, /^tsb-ha:dns\.ttl = "\[secret\]" is text, not a number\./);
    assert.match(message, /pulumi config set --path 'tsb-ha:dns\.ttl' \[secret\] /);
  });

  it("keeps the value of a plain key and the fix built from it", () => {
    const message = refusal({ dns: { provider: "route53", zoneId: "Z0123456789", ttl: "60" } }, []);
    assert.match(message, /^tsb-ha:dns\.ttl = "60" is text.*pulumi config set --path 'tsb-ha:dns\.ttl' 60 /);
  });

  it("leaves no secret in a warning", () => {
    const { warnings } = parseConfig(raw(baseConfig({ dns: { provider: "route53", zoneId: "Z0123456789", ttl: 600 } })), new Set(["standbyServiceAccountJwk", "dns"]));
    assert.deepEqual(warnings.map((w) => w.includes("600")), [false]);
    assert.match(warnings[0]!, /dns\.ttl is \[secret\]/);
  });

  it("refuses a sites key held as a secret, pointing at the keys for secret parts", () => {
    const sites = { mp1: { context: "mp1" }, mp2: { context: "mp2", values: { secrets: { elasticsearch: { password: PASSWORD } } } } };
    const message = refusal({ sites }, ["sites"]);
    assert.match(message, /^tsb-ha:sites = "\(not shown\)" is stored as a secret \(a part of it was set with --secret\)\. The topology stays plain.*tsb-ha:siteSecretValues\.<site>/);
    assert.ok(!message.includes(PASSWORD));
  });

  it("stops the program with the same message and no value, before any resource", async () => {
    const run = await runProgram(input(baseConfig({ secretValue: LDAP }), { secretKeys: ["standbyServiceAccountJwk", "secretValue"] }));
    assert.deepEqual(run.registrations, []);
    assert.equal(run.errors.length, 1, JSON.stringify(run.errors));
    assert.match(run.errors[0]!, /^tsb-ha:secretValue = "\[secret\]" is not a key of this program \(did you mean secretValues\?\)/);
    for (const part of partsOf(LDAP)) assert.ok(!run.errors[0]!.includes(part), part);
  });
});
