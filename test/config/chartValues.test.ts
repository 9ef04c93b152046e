// The user's chart values (issue 19, section 1): what is refused and why, and the precedence
// owned > per site > set-wide > installed, as the pure functions of lib/config/chartValues.ts decide them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  activeTelemetryStore, OWNED_PATHS, overlapRefusal, parseValues, parseValuesSources, showPath, telemetryStoreKind, userValuesFor,
  valuesRefusal, withPrecedence, type ValuesSource,
} from "../../lib/config/chartValues";
import { ConfigError } from "../../lib/config/errors";

const plain = (values: Record<string, unknown>, key = "values"): ValuesSource => ({ key, secret: false, values });
const secret = (values: Record<string, unknown>, key = "secretValues"): ValuesSource => ({ key, secret: true, values });
const message = (e: ConfigError | undefined): string => {
  assert.ok(e instanceof ConfigError, "refused");
  return e.message;
};

/** A nested map with `value` at a dotted path. */
function at(path: string, value: unknown): Record<string, unknown> {
  return path.split(".").reverse().reduce<unknown>((v, k) => ({ [k]: v }), value) as Record<string, unknown>;
}

const LDAP = {
  spec: {
    identityProvider: { ldap: { host: "ldap.corp.example.com", port: 636, search: { baseDN: "dc=corp,dc=example,dc=com" } } },
    telemetryStore: { elastic: { host: "es.corp.example.com", port: 9200, version: 7 } },
    imagePullSecrets: [{ name: "registry-credentials" }],
  },
};

describe("valuesRefusal: a path the program owns", () => {
  // [path, what owns it, the key to set instead]
  const OWNED: Array<[string, string, string | undefined]> = [
    ["spec.highAvailability", "each site's role", "activeSite (and sites.<s>.state)"],
    ["image.registry", "tsb.registry", "tsb.registry"],
    ["image.tag", "tsb.version", "tsb.version"],
    ["spec.hub", "tsb.registry", "tsb.registry"],
    ["spec.organization", "tsb.organization", "tsb.organization"],
    ["spec.components.frontEnvoy.port", "tsb.frontEnvoyPort", "tsb.frontEnvoyPort"],
    ["secrets.keep", "the program (always true: chart-made secrets such as iam-signing-key outlive an uninstall)", undefined],
    ["secrets.tsb.cert", "the set's PKI (each site's front-envoy leaf)", undefined],
    ["secrets.tsb.key", "the set's PKI (each site's front-envoy leaf)", undefined],
    ["secrets.tsb.adminPassword", "the program (the stack output adminPassword; an adopted MP keeps the one in adoptedValues)", undefined],
    ["secrets.xcp.autoGenerateCerts", "the program (always false: the set's PKI issues the XCP leaves)", undefined],
    ["secrets.xcp.central", "the set's PKI (each site's XCP central leaf)", undefined],
    ["secrets.xcp.rootca", "the set's root CA (or adoptedCa)", undefined],
    ["secrets.xcp.rootcakey", "the set's root CA, whose key never goes to a cluster", undefined],
  ];

  it("are the values that make the set a set (design.md, \"Chart values\")", () => {
    assert.deepEqual(OWNED_PATHS.map((o) => o.path), OWNED.map(([p]) => p));
  });

  for (const [path, owner, instead] of OWNED) {
    it(`refuses ${path} by name, with what owns it and the fix`, () => {
      const m = message(valuesRefusal(plain(at(path, "x"))));
      assert.ok(m.startsWith(`tsb-ha:values.${path} = "x" sets ${path}, which the program owns (from ${owner}). Allowed: any path the program does not own. `), m);
      assert.ok(m.includes(`Fix: remove it (pulumi config rm --path 'tsb-ha:values.${path}')`), m);
      assert.ok(m.endsWith(instead ? `, and set tsb-ha:${instead} instead` : "; the program sets it"), m);
    });
  }

  it("refuses a value under an owned path, naming both", () => {
    const m = message(valuesRefusal(plain(at("spec.highAvailability.standby.activeMpSynchronizationEndpoint.host", "mp9.example.com"))));
    assert.match(m, /^tsb-ha:values\.spec\.highAvailability\.standby\.activeMpSynchronizationEndpoint\.host = "mp9\.example\.com" sets spec\.highAvailability\.standby\.activeMpSynchronizationEndpoint\.host, under spec\.highAvailability, which the program owns/);
  });

  it("refuses a value above an owned path that would replace it (null, a scalar, a list), but not an empty map", () => {
    assert.match(message(valuesRefusal(plain({ spec: { components: null } }))), /^tsb-ha:values\.spec\.components = null replaces spec\.components\.frontEnvoy\.port, which the program owns/);
    assert.match(message(valuesRefusal(plain({ image: "registry.example.com/tsb:1.12" }))), /^tsb-ha:values\.image = .* replaces image\.registry/);
    assert.match(message(valuesRefusal(plain({ spec: [{ hub: "x" }] }))), /^tsb-ha:values\.spec\[0\]\.hub = "x" replaces spec\.highAvailability/);
    assert.match(message(valuesRefusal(plain({ spec: { highAvailability: [] } }))), /sets spec\.highAvailability, which the program owns/);
    assert.equal(valuesRefusal(plain({ spec: { components: {} }, image: { pullPolicy: "Always" } })), undefined);
    assert.equal(valuesRefusal(plain({ spec: { components: { frontEnvoy: { kubeSpec: { service: { type: "LoadBalancer" } } } } } })), undefined);
  });

  it("refuses a list item inside an owned path", () => {
    assert.match(message(valuesRefusal(plain({ secrets: { xcp: { central: [1] } } }))), /^tsb-ha:values\.secrets\.xcp\.central\[0\] = 1 sets secrets\.xcp\.central\[0\], under secrets\.xcp\.central/);
  });

  it("shows a secret source's value as [secret], never its text", () => {
    const m = message(valuesRefusal(secret({ spec: { hub: "robot:pw@mirror.example.com" } })));
    assert.match(m, /^tsb-ha:secretValues\.spec\.hub = "\[secret\]" sets spec\.hub/);
    assert.ok(!m.includes("robot:pw"));
  });

  it("names a per-site key in the refusal and its fix", () => {
    const m = message(valuesRefusal({ key: "sites.mp2.values", site: "mp2", secret: false, values: at("image.tag", "1.13.0") }));
    assert.ok(m.startsWith("tsb-ha:sites.mp2.values.image.tag = \"1.13.0\" sets image.tag"), m);
    assert.ok(m.includes("pulumi config rm --path 'tsb-ha:sites.mp2.values.image.tag'"), m);
  });

  it("accepts what a production install sets beside the program's values", () => {
    assert.equal(valuesRefusal(plain(LDAP)), undefined);
    assert.equal(valuesRefusal(secret({ secrets: { ldap: { binddn: "cn=svc", bindpassword: "pw" }, elasticsearch: { username: "tsb", password: "pw" }, postgres: { password: "pw" } }, operator: { pullSecret: "{}" } })), undefined);
    assert.equal(valuesRefusal(plain({ secrets: {} })), undefined, "an empty map sets nothing");
    assert.equal(valuesRefusal(plain({})), undefined);
  });
});

describe("valuesRefusal: an external data store and plain credentials", () => {
  it("refuses spec.dataStore: the set relies on the embedded Postgres", () => {
    const m = message(valuesRefusal(plain({ spec: { dataStore: { postgres: { address: "db:5432" } } } })));
    assert.match(m, /^tsb-ha:values\.spec\.dataStore\.postgres\.address = "db:5432" sets spec\.dataStore: an external Postgres\. The set relies on the embedded Postgres that each standby synchronises \(seed\), so an external data store is not supported\. Fix: remove it \(pulumi config rm --path 'tsb-ha:values\.spec\.dataStore\.postgres\.address'\)$/);
    assert.match(message(valuesRefusal(secret({ spec: { dataStore: {} } }))), /^tsb-ha:secretValues\.spec\.dataStore = "\[secret\]" sets spec\.dataStore/);
  });

  it("refuses a credential given in plain text, without its value, pointing at the secret key", () => {
    const m = message(valuesRefusal(plain({ secrets: { ldap: { bindpassword: "hunter2-xyz" } } })));
    assert.equal(m, "tsb-ha:values.secrets.ldap.bindpassword = \"(not shown)\" is a credential (everything under secrets) given in plain text. Allowed: a secret, in tsb-ha:secretValues. " +
      "Fix: pulumi config rm --path 'tsb-ha:values.secrets.ldap.bindpassword', then pulumi config set --secret --path 'tsb-ha:secretValues.secrets.ldap.bindpassword' <value>");
    assert.match(message(valuesRefusal(plain({ operator: { pullSecret: "{\"auths\":{}}" } }))), /^tsb-ha:values\.operator\.pullSecret = "\(not shown\)" is a credential \(everything under operator\.pullSecret\)/);
    const site = message(valuesRefusal({ key: "sites.mp2.values", site: "mp2", secret: false, values: { secrets: { elasticsearch: { password: "x" } } } }));
    assert.match(site, /Allowed: a secret, in tsb-ha:siteSecretValues\.mp2\. .*--path 'tsb-ha:siteSecretValues\.mp2\.secrets\.elasticsearch\.password' <value>$/);
    assert.equal(valuesRefusal({ key: "values", secret: true, values: { secrets: { ldap: { bindpassword: "x" } } } }), undefined, "values held as a secret may hold them");
    assert.equal(valuesRefusal(plain({ operator: { serviceAccount: { imagePullSecrets: ["registry-credentials"] } } })), undefined);
  });
});

describe("overlapRefusal", () => {
  it("refuses a path set in both the plain and the secret values, naming the paths only", () => {
    const m = message(overlapRefusal(plain({ spec: { telemetryStore: { elastic: { host: "a", port: 9200 } } } }), secret({ spec: { telemetryStore: { elastic: { host: "b" } } }, secrets: { x: 1 } })));
    assert.equal(m, "tsb-ha:secretValues = \"[secret]\" sets spec.telemetryStore.elastic.host, which tsb-ha:values sets too. Allowed: each path in one of them (credentials in secretValues). Fix: remove it from one of them");
  });

  it("counts a map set above the other's leaf, and lists every path once, sorted", () => {
    const m = message(overlapRefusal(plain({ spec: { a: { b: 1, c: 2 } }, z: 1 }), secret({ spec: { a: null }, z: 2 })));
    assert.match(m, /sets spec\.a\.b, spec\.a\.c, z, which/);
    const list = message(overlapRefusal(plain({ l: [1, 2] }), secret({ l: [3] })));
    assert.match(list, /sets l, which/);
    assert.match(message(overlapRefusal(plain({ spec: { a: null } }), secret({ spec: { a: { b: { c: 1 } } } }))), /sets spec\.a\.b\.c, which/, "the longer path, the secret's");
    assert.match(message(overlapRefusal(plain({ z: 1, a: 1 }), secret({ z: 2, a: 2 }))), /sets a, z, which/, "sorted");
  });

  it("passes values that do not meet, an empty map included", () => {
    assert.equal(overlapRefusal(plain({ spec: { a: {} } }), secret({ spec: { a: { b: 1 } } })), undefined);
    assert.equal(overlapRefusal(plain({ spec: { a: { b: 1 } } }), secret({ spec: { a: {} } })), undefined);
    assert.equal(overlapRefusal(plain(LDAP), secret({ secrets: { ldap: { bindpassword: "x" } }, spec: { telemetryStore: { elastic: { protocol: "https" } } } })), undefined);
  });
});

describe("parseValues", () => {
  it("reads an object (JSON, as Pulumi hands a map over) and YAML text", () => {
    assert.deepEqual(parseValues("values", JSON.stringify(LDAP), false), LDAP);
    assert.deepEqual(parseValues("values", "spec:\n  telemetryStore:\n    elastic:\n      host: es\n      port: 9200\n", false), { spec: { telemetryStore: { elastic: { host: "es", port: 9200 } } } });
    assert.deepEqual(parseValues("values", "a: 2024-01-01\nb: ~\n", false), { a: "2024-01-01", b: null }, "JSON's types only: a date stays text, as in the stack file");
  });

  it("refuses text that is no map, showing it only when it is not a secret", () => {
    assert.match(message(catchIt(() => parseValues("values", "just text", false))), /^tsb-ha:values = "just text" is not a map of chart values\. Allowed: a YAML or JSON object/);
    assert.match(message(catchIt(() => parseValues("values", "[1, 2]", false))), /^tsb-ha:values = \[1,2\] is not a map/);
    assert.match(message(catchIt(() => parseValues("values", "a: [", false))), /^tsb-ha:values = "a: \[" is not a map/);
    assert.match(message(catchIt(() => parseValues("values", "null", false))), /^tsb-ha:values = "null" is not a map/);
    for (const text of ["pw=hunter2", "a: ["]) {
      const m = message(catchIt(() => parseValues("secretValues", text, true)));
      assert.ok(m.startsWith("tsb-ha:secretValues = \"[secret]\" is not a map"), m);
      assert.ok(!m.includes(text));
    }
  });
});

function catchIt(f: () => unknown): ConfigError | undefined {
  try {
    f();
  } catch (e) {
    return e as ConfigError;
  }
  return undefined;
}

describe("parseValuesSources", () => {
  const raw = (over: Record<string, unknown>) => Object.fromEntries(Object.entries(over).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  const sites = (values: Record<string, unknown> = {}) => ["mp1", "mp2"].map((site) => ({ site, values: values[site] }));

  it("collects set-wide, secret and per-site values, each with its key, site and secretness", () => {
    const sources = parseValuesSources(raw({ values: LDAP, secretValues: { secrets: { ldap: { bindpassword: "pw" } } }, siteSecretValues: { mp2: { secrets: { elasticsearch: { password: "es2" } } } } }),
      new Set(["secretValues", "siteSecretValues"]), sites({ mp2: { spec: { components: { oap: { kubeSpec: { resources: { limits: { memory: "4Gi" } } } } } } } }));
    assert.deepEqual(sources.map((s) => [s.key, s.site, s.secret]), [
      ["values", undefined, false], ["secretValues", undefined, true], ["sites.mp2.values", "mp2", false], ["siteSecretValues.mp2", "mp2", true],
    ]);
  });

  it("gives nothing when nothing is set (empty text counts as not set)", () => {
    assert.deepEqual(parseValuesSources(raw({ values: "", secretValues: "" }), new Set(), sites()), []);
  });

  it("takes values held as a secret as secret", () => {
    assert.equal(parseValuesSources(raw({ values: LDAP }), new Set(["values"]), sites())[0]!.secret, true);
  });

  it("refuses secretValues that is no map without showing it", () => {
    const m = message(catchIt(() => parseValuesSources(raw({ secretValues: "bindpassword=pw-xyz" }), new Set(["secretValues"]), sites())));
    assert.ok(m.startsWith("tsb-ha:secretValues = \"[secret]\" is not a map"), m);
  });

  it("refuses secretValues and siteSecretValues in plain text, without their value", () => {
    assert.match(message(catchIt(() => parseValuesSources(raw({ secretValues: { secrets: { ldap: { bindpassword: "pw-xyz" } } } }), new Set(), sites()))),
      /^tsb-ha:secretValues = "\(not shown\)" is stored in plain text\. Allowed: a secret\. Fix: pulumi config rm tsb-ha:secretValues, then pulumi config set --secret --path 'tsb-ha:secretValues\.<path>' <value>$/);
    assert.match(message(catchIt(() => parseValuesSources(raw({ siteSecretValues: { mp1: {} } }), new Set(), sites()))),
      /^tsb-ha:siteSecretValues = "\(not shown\)" is stored in plain text\..*--path 'tsb-ha:siteSecretValues\.<site>\.<path>' <value>$/);
  });

  it("refuses siteSecretValues for a site the set lacks or that is no map", () => {
    assert.match(message(catchIt(() => parseValuesSources(raw({ siteSecretValues: { mp9: {} } }), new Set(["siteSecretValues"]), sites()))),
      /^tsb-ha:siteSecretValues\.mp9 = "mp9" is not one of the sites \(mp1, mp2\)/);
    assert.match(message(catchIt(() => parseValuesSources(raw({ siteSecretValues: { mp1: "pw" } }), new Set(["siteSecretValues"]), sites()))),
      /^tsb-ha:siteSecretValues\.mp1 = "\[secret\]" is not a map of chart values/);
    assert.match(message(catchIt(() => parseValuesSources(raw({ siteSecretValues: "[]" }), new Set(["siteSecretValues"]), sites()))),
      /^tsb-ha:siteSecretValues = "\[secret\]" is not a map/);
  });

  it("refuses a site's values that are no map, and skips a site without values", () => {
    assert.match(message(catchIt(() => parseValuesSources(raw({}), new Set(), sites({ mp1: "spec: x" })))), /^tsb-ha:sites\.mp1\.values = "spec: x" is not a map of chart values/);
    assert.deepEqual(parseValuesSources(raw({}), new Set(), sites({ mp1: null })), []);
  });

  it("refuses an owned path, in any source, before anything else is read", () => {
    assert.match(message(catchIt(() => parseValuesSources(raw({ values: { spec: { hub: "x" } } }), new Set(), sites()))), /^tsb-ha:values\.spec\.hub/);
    assert.match(message(catchIt(() => parseValuesSources(raw({}), new Set(), sites({ mp2: { image: { tag: "1" } } })))), /^tsb-ha:sites\.mp2\.values\.image\.tag/);
    assert.match(message(catchIt(() => parseValuesSources(raw({ siteSecretValues: { mp2: { spec: { organization: "o" } } } }), new Set(["siteSecretValues"]), sites()))),
      /^tsb-ha:siteSecretValues\.mp2\.spec\.organization = "\[secret\]"/);
  });

  it("refuses plain and secret values at one level that meet, set-wide and per site; across levels they may", () => {
    const es = (host: string) => ({ spec: { telemetryStore: { elastic: { host } } } });
    assert.match(message(catchIt(() => parseValuesSources(raw({ values: es("a"), secretValues: es("b") }), new Set(["secretValues"]), sites()))), /^tsb-ha:secretValues = "\[secret\]" sets spec\.telemetryStore\.elastic\.host, which tsb-ha:values sets too/);
    assert.match(message(catchIt(() => parseValuesSources(raw({ siteSecretValues: { mp2: es("b") } }), new Set(["siteSecretValues"]), sites({ mp2: es("a") })))), /^tsb-ha:siteSecretValues\.mp2 = "\[secret\]" sets spec\.telemetryStore\.elastic\.host, which tsb-ha:sites\.mp2\.values sets too/);
    assert.equal(parseValuesSources(raw({ values: es("a"), siteSecretValues: { mp2: es("b") } }), new Set(["siteSecretValues"]), sites({ mp1: es("c") })).length, 3);
  });
});

describe("precedence: owned > per site > set-wide > installed", () => {
  const sources: ValuesSource[] = [
    plain({ spec: { telemetryStore: { elastic: { host: "es.example.com", port: 9200 } }, components: { oap: { replicas: 1 } } } }),
    secret({ secrets: { elasticsearch: { password: "set-wide" } } }),
    { key: "sites.mp2.values", site: "mp2", secret: false, values: { spec: { telemetryStore: { elastic: { host: "es-2.example.com" } } } } },
    { key: "siteSecretValues.mp2", site: "mp2", secret: true, values: { secrets: { elasticsearch: { password: "mp2-only" } } } },
    { key: "sites.mp3.values", site: "mp3", secret: false, values: { spec: { components: { oap: { replicas: 3 } } } } },
  ];

  it("gives each site the set-wide values with its own over them, and no other site's", () => {
    assert.deepEqual(userValuesFor(sources, "mp1"), { spec: { telemetryStore: { elastic: { host: "es.example.com", port: 9200 } }, components: { oap: { replicas: 1 } } }, secrets: { elasticsearch: { password: "set-wide" } } });
    assert.deepEqual(userValuesFor(sources, "mp2"), { spec: { telemetryStore: { elastic: { host: "es-2.example.com", port: 9200 } }, components: { oap: { replicas: 1 } } }, secrets: { elasticsearch: { password: "mp2-only" } } });
    assert.deepEqual(userValuesFor(sources, "mp3")["spec"], { telemetryStore: { elastic: { host: "es.example.com", port: 9200 } }, components: { oap: { replicas: 3 } } });
    assert.deepEqual(userValuesFor([], "mp1"), {});
  });

  it("puts the program's values over the user's, and both over the installed ones", () => {
    const installed = { spec: { hub: "old", organization: "o", telemetryStore: { elastic: { host: "installed", version: 7 } } }, secrets: { postgres: { password: "kept" } } };
    const user = { spec: { telemetryStore: { elastic: { host: "user" } } } };
    const owned = { spec: { hub: "new" } };
    assert.deepEqual(withPrecedence(owned, user, installed), {
      spec: { hub: "new", organization: "o", telemetryStore: { elastic: { host: "user", version: 7 } } }, secrets: { postgres: { password: "kept" } },
    });
    assert.deepEqual(withPrecedence(owned, { spec: { hub: "user" } }), { spec: { hub: "new" } });
  });
});

describe("the telemetry store", () => {
  it("is Elasticsearch when set so, and when unset (TSB then installs its demo Elasticsearch)", () => {
    assert.equal(telemetryStoreKind(LDAP), "elastic");
    assert.equal(telemetryStoreKind({}), "elastic");
    assert.equal(telemetryStoreKind({ spec: {} }), "elastic");
    assert.equal(telemetryStoreKind({ spec: { telemetryStore: {} } }), "elastic");
    assert.equal(telemetryStoreKind({ spec: "x" }), "elastic");
  });

  it("is named as given otherwise", () => {
    assert.equal(telemetryStoreKind({ spec: { telemetryStore: { banyandb: { host: "b" } } } }), "banyandb");
    assert.equal(telemetryStoreKind({ spec: { telemetryStore: { z: {}, a: {} } } }), "a+z");
  });

  it("of the set is the active site's: its installed values under the user's values for it", () => {
    const banyan = { spec: { telemetryStore: { banyandb: { host: "b" } } } };
    const cfg = { activeSite: "mp2", chartValues: [{ key: "sites.mp2.values", site: "mp2", secret: false, values: banyan }] };
    assert.equal(activeTelemetryStore(cfg), "banyandb");
    assert.equal(activeTelemetryStore({ ...cfg, activeSite: "mp1" }), "elastic");
    assert.equal(activeTelemetryStore({ activeSite: "mp1", chartValues: [], adoption: { values: banyan, ca: { certPem: "" }, adminPassword: "" } }), "banyandb");
  });
});

describe("showPath", () => {
  it("joins keys with dots and shows list indexes", () => {
    assert.equal(showPath(["spec", "imagePullSecrets", 0, "name"]), "spec.imagePullSecrets[0].name");
    assert.equal(showPath([0, "a"]), "[0].a");
    assert.equal(showPath([]), "");
  });
});
