// lib/config/redaction.ts on its own: which keys count as secret, what is removed from a text, and how a
// refusal is rewritten (the end-to-end cases through parseConfig are test/secretMessages.test.ts).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/config/errors";
import { isSecretKey, MIN_FRAGMENT, redact, topKey, withoutSecrets, type SecretConfig } from "../../lib/config/redaction";

const secrets = (raw: Record<string, string>, plainPaths?: Record<string, string[]>): SecretConfig =>
  ({ raw, secretKeys: new Set(Object.keys(raw)), ...(plainPaths ? { plainPaths } : {}) });

describe("which key is secret", () => {
  it("the stored key itself, or the object a key path sits in", () => {
    const keys = new Set(["dns", "secretValues.secrets.ldap.bindpassword"]);
    assert.equal(topKey("sites.mp1.values.x"), "sites");
    assert.equal(topKey("kubeconfigs[0]"), "kubeconfigs");
    assert.equal(topKey("activeSite"), "activeSite");
    assert.ok(isSecretKey("dns.ttl", keys));
    assert.ok(isSecretKey("dns", keys));
    assert.ok(isSecretKey("secretValues.secrets.ldap.bindpassword", keys));
    assert.ok(!isSecretKey("secretValues", keys), "a stray dotted key does not make its head secret");
    assert.ok(!isSecretKey("dnsx.ttl", keys));
  });
});

describe("redact", () => {
  it("removes a secret's whole text and each of its leaves of four characters or more, longest first", () => {
    const s = secrets({ secretValues: JSON.stringify({ secrets: { ldap: { bindpassword: "pw-12345", binddn: "cn=svc" }, x: { n: 4711, b: true } } }) });
    assert.equal(MIN_FRAGMENT, 4);
    assert.equal(redact("a pw-12345 b cn=svc c 4711 d true e", s), "a [secret] b [secret] c [secret] d true e");
    const inside = secrets({ k: JSON.stringify({ b: "long", a: "secret-long-value" }) });
    assert.equal(redact("x secret-long-value y", inside), "x [secret] y", "the longer text goes as one, not around a shorter leaf in it");
    assert.equal(redact("x pw-1 y", secrets({ k: "pw-1" })), "x [secret] y");
    assert.equal(redact("x abc y", secrets({ k: "abc" })), "x abc y", "a short secret is not searched in a text about other keys");
  });

  it("also finds a leaf as JSON would escape it (a PEM's newlines)", () => {
    const s = secrets({ adoptedCa: JSON.stringify({ keyPem: "-----BEGIN KEY-----\nAAAA\n-----END KEY-----" }) });
    assert.equal(redact(String.raw`x "-----BEGIN KEY-----\nAAAA\n-----END KEY-----" y`, s), `x "[secret]" y`);
  });

  it("reads YAML with JSON's types only (a date stays the text it was), and a null or a boolean is no leaf", () => {
    assert.equal(redact("x 2024-01-01 y", secrets({ k: "a: 2024-01-01\nb: ~\nc: true\n" })), "x [secret] y");
    assert.equal(redact("x null true y", secrets({ k: JSON.stringify({ a: null, b: true, c: [null] }) })), "x null true y");
  });

  it("reads YAML text and leaves plain paths alone", () => {
    const yamlText = "spec:\n  organization: acme-org\nsecrets:\n  tsb:\n    adminPassword: admin-pw-77\n";
    const s = secrets({ adoptedValues: yamlText }, { adoptedValues: ["spec.organization"] });
    assert.equal(redact("org acme-org, password admin-pw-77", s), "org acme-org, password [secret]");
    assert.equal(redact("org acme-org", secrets({ adoptedValues: yamlText })), "org [secret]");
    const list = secrets({ v: JSON.stringify({ l: ["item-one", { m: "item-two" }] }) }, { v: ["l[0]"] });
    assert.equal(redact("item-one item-two", list), "item-one [secret]");
  });

  it("ignores what is no secret: an empty or missing value, and text it cannot parse is still removed whole", () => {
    const s: SecretConfig = { raw: { a: "", c: "{not yaml: [" }, secretKeys: new Set(["a", "b", "c"]) };
    assert.equal(redact("x {not yaml: [ y", s), "x [secret] y");
    assert.equal(redact("nothing here", s), "nothing here");
  });

  it("removes a secret key's short values where they stand alone, in a text about that key", () => {
    const s = secrets({ dns: JSON.stringify({ provider: "route53", zoneId: "Z1", ttl: 60, on: true, blank: " " }) });
    assert.equal(redact("tsb-ha:dns.ttl is 60: up to 60 s, not 600 or 1.60 or 60-x or x60 or /60", s), "tsb-ha:dns.ttl is [secret]: up to [secret] s, not 600 or 1.60 or 60-x or x60 or /60");
    assert.equal(redact("tsb-ha:dns.zoneId Z1.", s), "tsb-ha:dns.zoneId [secret].");
    assert.equal(redact("tsb-ha:dnsx 60", s), "tsb-ha:dnsx 60", "another key that starts alike");
    assert.equal(redact("tsb-ha:dns ( ) c", s), "tsb-ha:dns ( ) c", "a blank value is no token");
    assert.equal(redact("tsb-ha:dns-x 60", s), "tsb-ha:dns-x 60");
    assert.equal(redact("ttl 60", s), "ttl 60", "a text about no secret key keeps short words");
    assert.equal(redact("ttl 60", s, "dns"), "ttl [secret]", "or about the key named by the caller");
    assert.equal(redact("a 60 b", s, "sites"), "a 60 b");
    assert.equal(redact("tsb-ha:dns (a+b) 60", secrets({ dns: JSON.stringify({ x: "a+b" }) })), "tsb-ha:dns ([secret]) 60", "regex characters are taken literally");
  });
});

describe("withoutSecrets", () => {
  const s = secrets({ dns: JSON.stringify({ provider: "bad-provider-x", ttl: 60 }), kubeconfigs: JSON.stringify({ mp9: "token: abcdefgh" }) });

  it("hides a secret key's value, keeps its text of no secret", () => {
    const e = withoutSecrets(new ConfigError("dns.provider", "bad-provider-x", "is not a provider. Allowed: route53"), s);
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, 'tsb-ha:dns.provider = "[secret]" is not a provider. Allowed: route53');
    assert.equal(e.key, "dns.provider");
  });

  it("keeps a value that only repeats the key's own name, a placeholder, or nothing set", () => {
    assert.equal(withoutSecrets(new ConfigError("kubeconfigs.mp9", "mp9", "is not a site"), s).message, 'tsb-ha:kubeconfigs.mp9 = "mp9" is not a site');
    for (const placeholder of ["(secret, not shown)", "(not shown)", "(contents, not shown)", "[secret]", "[set]"]) {
      assert.equal(withoutSecrets(new ConfigError("dns.x", placeholder, "p"), s).message, `tsb-ha:dns.x = ${JSON.stringify(placeholder)} p`);
    }
    assert.equal(withoutSecrets(new ConfigError("dns.x", undefined, "is required"), s).message, "tsb-ha:dns.x (not set) is required");
    assert.equal(withoutSecrets(new ConfigError("dns.x", "(shown)", "p"), s).message, 'tsb-ha:dns.x = "[secret]" p', "only the code's own placeholders");
    assert.equal(withoutSecrets(new ConfigError("dns.x", "x[set]", "p"), s).message, 'tsb-ha:dns.x = "[secret]" p');
    assert.equal(withoutSecrets(new ConfigError("dns.x", "(not shown)bad", "p"), s).message, 'tsb-ha:dns.x = "[secret]" p');
    assert.equal(withoutSecrets(new ConfigError("dns.x", ["[set]"], "p"), s).message, 'tsb-ha:dns.x = "[secret]" p', "a list is no placeholder");
    assert.equal(withoutSecrets(new ConfigError("dns.60", 60, "p"), s).message, 'tsb-ha:dns.60 = "[secret]" p', "a number is no part of the key's name");
  });

  it("hides a plain key's value that holds a secret, and removes secrets from the text", () => {
    const e = withoutSecrets(new ConfigError("activeSite", "token: abcdefgh", "not bad-provider-x"), s);
    assert.equal(e.message, 'tsb-ha:activeSite = "[secret]" not [secret]');
    assert.equal(withoutSecrets(new ConfigError("activeSite", "mp9", "is not a site"), s).message, 'tsb-ha:activeSite = "mp9" is not a site');
  });

  it("removes the secret key's own short values from its text", () => {
    assert.equal(withoutSecrets(new ConfigError("dns.ttl", "60", "Fix: set it to 60"), s).message, 'tsb-ha:dns.ttl = "[secret]" Fix: set it to [secret]');
  });

  it("passes anything that is not a ConfigError through", () => {
    const other = new Error("boom bad-provider-x");
    assert.equal(withoutSecrets(other, s), other);
    assert.equal(withoutSecrets("text", s), "text");
  });
});
