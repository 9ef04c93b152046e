// Issue 19, section 1, through the real index.ts under mocks: a production-shaped new set (LDAP,
// Elasticsearch credentials, a private registry with a pull secret) in one update, every site's release
// carrying the user's values under the program's own, secret ones secret everywhere; an owned path
// refused by name before anything is registered; a change of the values upgrades the serving sites in
// place and never a fenced one; controlPlaneValues follows the telemetry store.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Stack, changes, engineDiff } from "./harness/engine";
import { find, isSecretValue, plainStrings, reveal, runProgram, type ChildOutput } from "./harness/runProgram";
import { baseConfig, clusterWithKeys, input } from "./fixtures";

const SECRET_KEYS = ["standbyServiceAccountJwk", "secretValues", "siteSecretValues"];
const THREE = { mp1: { context: "mp1" }, mp2: { context: "mp2" }, mp3: { context: "mp3" } };

/** Set-wide plain values: LDAP as the identity provider, an external Elasticsearch, the registry's pull secret by name. */
const VALUES = {
  spec: {
    identityProvider: {
      ldap: {
        host: "ldap.corp.example.com", port: 636,
        search: { baseDN: "dc=corp,dc=example,dc=com" },
        iam: { matchDN: "uid=%s,ou=People,dc=corp,dc=example,dc=com" },
        sync: { usersFilter: "(objectClass=person)", groupsFilter: "(objectClass=groupOfUniqueNames)", membershipAttribute: "uniqueMember" },
      },
    },
    telemetryStore: { elastic: { host: "es.corp.example.com", port: 9200, version: 7, protocol: "https", selfSigned: false } },
    imagePullSecrets: [{ name: "registry-credentials" }],
  },
  operator: { serviceAccount: { imagePullSecrets: ["registry-credentials"] } },
};
/** The credentials, as `pulumi config set --secret --path` stores them. */
const LDAP_PASSWORD = "ldap-Bind-9f3c1e77";
const ES_PASSWORD = "es-Pass-2b8d4a10";
const MP3_ES_PASSWORD = "es-Pass-mp3-77aa01";
const PULL_SECRET = JSON.stringify({ auths: { "registry.corp.example.com": { auth: Buffer.from("robot:registry-Token-51e0c9").toString("base64") } } });
const SECRET_VALUES = {
  secrets: {
    ldap: { binddn: "cn=svc-tsb,ou=Services,dc=corp,dc=example,dc=com", bindpassword: LDAP_PASSWORD },
    elasticsearch: { username: "tsb-writer", password: ES_PASSWORD },
  },
  operator: { pullSecret: PULL_SECRET },
};
const SECRET_TEXTS = [LDAP_PASSWORD, ES_PASSWORD, MP3_ES_PASSWORD, PULL_SECRET, "registry-Token-51e0c9", "tsb-writer", "cn=svc-tsb,ou=Services,dc=corp,dc=example,dc=com",
  Buffer.from("robot:registry-Token-51e0c9").toString("base64")];

const production = (over: Record<string, unknown> = {}) => baseConfig({
  sites: { ...THREE, mp2: { context: "mp2", values: { spec: { components: { oap: { kubeSpec: { deployment: { nodeSelector: { "topology.kubernetes.io/zone": "us-east-1b" } } } } } } } } },
  tsb: { version: "1.12.4", registry: "registry.corp.example.com/tetrate", organization: "tetrate" },
  values: VALUES,
  secretValues: SECRET_VALUES,
  siteSecretValues: { mp3: { secrets: { elasticsearch: { password: MP3_ES_PASSWORD } } } },
  ...over,
});

type Values = Record<string, unknown>;
const valuesOf = (run: ChildOutput, site: string) => (reveal(find(run, `${site}-managementplane`).inputs) as { values: Values }).values;
const get = (v: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, k) => (x && typeof x === "object" ? (x as Values)[k] : undefined), v);

describe("a production-shaped new set in one update", () => {
  let run: ChildOutput;
  before(async () => {
    run = await runProgram(input(production(), { secretKeys: SECRET_KEYS }));
  });

  it("deploys without an error", () => {
    assert.deepEqual(run.errors, []);
    for (const s of ["mp1", "mp2", "mp3"]) assert.ok(find(run, `${s}-managementplane`));
  });

  it("gives every site's release the set-wide values verbatim, each site its own, under the program's values", () => {
    for (const s of ["mp1", "mp2", "mp3"]) {
      const v = valuesOf(run, s);
      assert.deepEqual(get(v, "spec.identityProvider"), VALUES.spec.identityProvider, s);
      assert.deepEqual(get(v, "spec.telemetryStore"), VALUES.spec.telemetryStore, s);
      assert.deepEqual(get(v, "spec.imagePullSecrets"), [{ name: "registry-credentials" }], s);
      assert.deepEqual(get(v, "operator.serviceAccount"), { imagePullSecrets: ["registry-credentials"] }, s);
      assert.equal(get(v, "operator.pullSecret"), PULL_SECRET, s);
      assert.deepEqual(get(v, "secrets.ldap"), SECRET_VALUES.secrets.ldap, s);
      assert.equal(get(v, "secrets.elasticsearch.username"), "tsb-writer", s);
      assert.equal(get(v, "secrets.elasticsearch.password"), s === "mp3" ? MP3_ES_PASSWORD : ES_PASSWORD, `${s}: its own secret over the set-wide one`);
      // The program's values stand beside them.
      assert.equal(get(v, "spec.hub"), "registry.corp.example.com/tetrate");
      assert.deepEqual(get(v, "image"), { registry: "registry.corp.example.com/tetrate", tag: "1.12.4" });
      assert.equal(get(v, "spec.organization"), "tetrate");
      assert.equal(get(v, "secrets.keep"), true);
      assert.equal(get(v, "secrets.xcp.autoGenerateCerts"), false);
      assert.equal(get(v, "secrets.tsb.adminPassword"), "password-of-admin-password");
      assert.ok(get(v, "spec.highAvailability"), s);
    }
    assert.deepEqual(get(valuesOf(run, "mp2"), "spec.components"), { frontEnvoy: { port: 443 }, oap: { kubeSpec: { deployment: { nodeSelector: { "topology.kubernetes.io/zone": "us-east-1b" } } } } });
    assert.deepEqual(get(valuesOf(run, "mp1"), "spec.components"), { frontEnvoy: { port: 443 } }, "another site's values stay on it");
  });

  it("sends every release's values as a secret, and no plaintext of a secret value in any registration, state, output or log", () => {
    for (const s of ["mp1", "mp2", "mp3"]) {
      const release = find(run, `${s}-managementplane`);
      assert.ok(isSecretValue((release.inputs as Values)["values"]), s);
      assert.ok(release.additionalSecretOutputs.includes("values"), `${s}: the state's copy is secret whatever the provider returns`);
    }
    const leaks: string[] = [];
    const check = (where: string, texts: Array<{ path: string; value: string }>) => {
      for (const { path, value } of texts) for (const t of SECRET_TEXTS) if (value.includes(t)) leaks.push(`${where}.${path}`);
    };
    for (const r of run.registrations) {
      check(`${r.name} inputs`, plainStrings(r.inputs));
      check(`${r.name} state`, plainStrings(r.state));
      check(`${r.name} outputs`, plainStrings(r.outputs));
    }
    for (const [k, o] of Object.entries(run.outputs!)) if (!o.secret) check(`output ${k}`, plainStrings(o.value));
    check("log", [...run.infos, ...run.warnings, ...run.errors].map((l, i) => ({ path: String(i), value: l })));
    assert.deepEqual(leaks, []);
  });

  it("gives control planes the Elasticsearch block: the set uses Elasticsearch", () => {
    const cp = run.outputs!["controlPlaneValues"]!.value as Values;
    assert.deepEqual(get(cp, "spec.telemetryStore.elastic.host"), "active.tsb.example.com");
    assert.ok(get(cp, "secrets.elasticsearch.cacert"));
  });
});

describe("refusals before any resource", () => {
  it("refuses an owned path in the values by name, with the key that owns it", async () => {
    const run = await runProgram(input(production({ values: { ...VALUES, spec: { ...VALUES.spec, hub: "mirror.example.com/tetrate" } } }), { secretKeys: SECRET_KEYS }));
    assert.deepEqual(run.registrations, []);
    assert.equal(run.errors.length, 1);
    assert.match(run.errors[0]!, /^tsb-ha:values\.spec\.hub = "mirror\.example\.com\/tetrate" sets spec\.hub, which the program owns \(from tsb\.registry\)\..*set tsb-ha:tsb\.registry instead$/);
  });

  it("refuses an external data store and a plain credential, showing no secret", async () => {
    const [store, plain] = await Promise.all([
      runProgram(input(production({ siteSecretValues: { mp3: { spec: { dataStore: { postgres: { address: "db.corp.example.com:5432" } } } } } }), { secretKeys: SECRET_KEYS })),
      runProgram(input(production({ values: { ...VALUES, secrets: { ldap: { bindpassword: LDAP_PASSWORD } } } }), { secretKeys: SECRET_KEYS })),
    ]);
    for (const r of [store, plain]) assert.deepEqual(r.registrations, []);
    assert.match(store.errors[0]!, /^tsb-ha:siteSecretValues\.mp3\.spec\.dataStore\.postgres\.address = "\[secret\]" sets spec\.dataStore: an external Postgres/);
    assert.ok(!store.errors[0]!.includes("db.corp.example.com"));
    assert.match(plain.errors[0]!, /^tsb-ha:values\.secrets\.ldap\.bindpassword = "\(not shown\)" is a credential/);
    assert.ok(!plain.errors[0]!.includes(LDAP_PASSWORD));
  });
});

describe("a change of the values", () => {
  const stack = new Stack({ secretKeys: SECRET_KEYS, clusterSecrets: clusterWithKeys(["mp1", "mp2", "mp3"]) });
  const failedOver = (over: Record<string, unknown> = {}) => production({ activeSite: "mp2", sites: { ...THREE, mp1: { context: "mp1", state: "fenced" } }, ...over });
  const runs: Record<string, ChildOutput> = {};
  before(async () => {
    stack.clusters = clusterWithKeys(["mp1", "mp2", "mp3"]);
    runs["provision"] = await stack.up("provision", production({ sites: THREE }));
    runs["rotate"] = await stack.up("rotate the LDAP password", production({ sites: THREE, secretValues: { ...SECRET_VALUES, secrets: { ...SECRET_VALUES.secrets, ldap: { ...SECRET_VALUES.secrets.ldap, bindpassword: "ldap-Bind-rotated-01" } } } }));
    runs["fail over"] = await stack.up("fail over", failedOver());
    runs["resize"] = await stack.up("new resources after the failover", failedOver({ values: { ...VALUES, spec: { ...VALUES.spec, components: { oap: { kubeSpec: { resources: { limits: { memory: "8Gi" } } } } } } } }));
  });

  it("runs every update without an error", () => {
    for (const l of stack.log) assert.deepEqual(l.errors, [], l.step);
  });

  it("is an in-place helm upgrade of every site's release, nothing else", () => {
    const d = stack.log[1]!.diff;
    assert.deepEqual(d.updated, ["mp1-managementplane", "mp2-managementplane", "mp3-managementplane"]);
    assert.equal(changes(d), 3, JSON.stringify(d));
    assert.equal(get(valuesOf(runs["rotate"]!, "mp3"), "secrets.ldap.bindpassword"), "ldap-Bind-rotated-01");
  });

  it("upgrades the serving sites and never the fenced one", () => {
    const d = engineDiff(runs["fail over"]!, runs["resize"]!);
    assert.deepEqual(d.updated, ["mp2-managementplane", "mp3-managementplane"]);
    assert.deepEqual([d.created, d.replaced, d.removed], [[], [], []]);
    for (const s of ["mp2", "mp3"]) assert.equal(get(valuesOf(runs["resize"]!, s), "spec.components.oap.kubeSpec.resources.limits.memory"), "8Gi");
    const fenced = find(runs["resize"]!, "mp1-managementplane");
    assert.ok(fenced.ignoreChanges.includes("values"), "the fenced release ignores its values");
    assert.equal(get((fenced.stateInputs as { values: Values }).values, "spec.components.oap"), undefined, "and the state keeps what it ran with");
  });
});

describe("controlPlaneValues follows the telemetry store", () => {
  it("leaves out the Elasticsearch parts when the management plane uses another store", async () => {
    const banyan = { spec: { telemetryStore: { banyandb: { host: "banyandb.corp.example.com", port: 17912 } } } };
    const run = await runProgram(input(production({ values: banyan, secretValues: { secrets: { ldap: SECRET_VALUES.secrets.ldap } } }), { secretKeys: SECRET_KEYS }));
    assert.deepEqual(run.errors, []);
    const cp = run.outputs!["controlPlaneValues"]!.value as Values;
    assert.equal(get(cp, "spec.telemetryStore"), undefined);
    assert.equal(get(cp, "secrets.elasticsearch"), undefined);
    assert.ok(get(cp, "spec.managementPlane.host") && get(cp, "secrets.tsb.cacert"), "the rest stays");
    assert.deepEqual(get(valuesOf(run, "mp1"), "spec.telemetryStore"), banyan.spec.telemetryStore, "the release carries the store");
  });
});
