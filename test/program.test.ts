// The real index.ts under Pulumi's mocks, provisioning a new set: which cluster gets what, in
// which order, and that every key and password stays a secret.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import {
  dependsOn, find, has, isSecretValue, plainStrings, reveal, runProgram, siteOf,
  type ChildOutput, type Registration,
} from "./harness/runProgram";
import { baseConfig, input, JWK, signingKey } from "./fixtures";
import { CLUSTER_NAME_PLACEHOLDER } from "../lib/plan/values";

type Values = {
  image: { registry: string; tag: string };
  secrets: { keep: boolean; tsb: { cert: string; key: string; adminPassword: string }; xcp: { autoGenerateCerts: boolean; central: { cert: string; key: string }; rootca: string } };
  spec: { hub: string; organization: string; components: { frontEnvoy: { port: number } }; highAvailability: Record<string, unknown> };
};
const values = (r: Registration) => (reveal(r.inputs) as { values: Values }).values;
const inputsOf = (r: Registration) => reveal(r.inputs) as Record<string, unknown>;
const K8S_TYPES = /^kubernetes:/;

describe("two sites on Route53 (the seed's set)", () => {
  let run: ChildOutput;
  before(async () => {
    run = await runProgram(input(baseConfig()));
    assert.deepEqual(run.errors, []);
  });

  it("gives each site its own Kubernetes provider and keeps every cluster resource on its site", () => {
    for (const site of ["mp1", "mp2"]) {
      const provider = find(run, `${site}-k8s`);
      assert.deepEqual(inputsOf(provider)["context"], site);
      assert.equal(inputsOf(provider)["clusterIdentifier"], site, "a new kubeconfig for the same site is an update, not a replace");
    }
    const k8s = run.registrations.filter((r) => K8S_TYPES.test(r.type));
    assert.deepEqual(k8s.map((r) => r.name).sort(), [
      "mp1-iam-signing-key-read", "mp1-managementplane", "mp1-namespace",
      "mp2-iam-signing-key", "mp2-managementplane", "mp2-namespace", "mp2-sa-jwk",
    ]);
    for (const r of k8s) {
      const site = r.name.split("-")[0];
      assert.equal(siteOf(r), site, `${r.name} is registered on its own site's cluster`);
    }
  });

  it("installs chart managementplane from the configured repo and version into namespace tsb", () => {
    for (const site of ["mp1", "mp2"]) {
      const release = inputsOf(find(run, `${site}-managementplane`));
      assert.equal(release["chart"], "managementplane");
      assert.equal(release["version"], "1.12.4");
      assert.deepEqual(release["repositoryOpts"], { repo: "https://charts.dl.tetrate.io/public/helm/charts/" });
      assert.equal(release["namespace"], "tsb");
      assert.equal(release["name"], "mp");
      assert.equal(inputsOf(find(run, `${site}-namespace`))["metadata"] && (inputsOf(find(run, `${site}-namespace`))["metadata"] as { name: string }).name, "tsb");
    }
  });

  it("gives the active the active block and the standby the active's permanent FQDN", () => {
    const mp1 = values(find(run, "mp1-managementplane"));
    const mp2 = values(find(run, "mp2-managementplane"));
    assert.deepEqual(mp1.spec.highAvailability, { active: { exposeEmbeddedPostgresInFrontEnvoy: true } });
    assert.deepEqual(mp2.spec.highAvailability, {
      standby: { activeMpSynchronizationEndpoint: { host: "mp1.tsb.example.com", port: 443, selfSigned: true } },
    });
    for (const v of [mp1, mp2]) {
      assert.deepEqual(v.image, { registry: "registry.example.com/tetrate", tag: "1.12.4" });
      assert.equal(v.spec.hub, "registry.example.com/tetrate");
      assert.equal(v.spec.organization, "tetrate");
      assert.equal(v.spec.components.frontEnvoy.port, 443);
      assert.equal(v.secrets.keep, true);
      assert.equal(v.secrets.xcp.autoGenerateCerts, false);
      assert.equal(v.secrets.tsb.adminPassword, "password-of-admin-password");
    }
  });

  it("puts each site's own certificates and the one root CA into its values", () => {
    const root = (run.outputs!["rootCaCertPem"]!.value as string);
    for (const site of ["mp1", "mp2"]) {
      const v = values(find(run, `${site}-managementplane`));
      assert.match(v.secrets.tsb.cert, new RegExp(`${site}-tsb-cert`));
      assert.match(v.secrets.tsb.key, new RegExp(`${site}-tsb-key`));
      assert.match(v.secrets.xcp.central.cert, new RegExp(`${site}-xcp-central-cert`));
      assert.match(v.secrets.xcp.central.key, new RegExp(`${site}-xcp-central-key`));
      assert.equal(v.secrets.xcp.rootca, root);
    }
  });

  it("creates the standby's secrets in tsb before its release, the JWK and the active's signing key", () => {
    const sa = find(run, "mp2-sa-jwk");
    assert.deepEqual(inputsOf(sa)["metadata"], { name: "tsb-standby-sa", namespace: "tsb" });
    assert.equal((inputsOf(sa)["stringData"] as { jwk: string }).jwk, JWK);
    const copy = find(run, "mp2-iam-signing-key");
    assert.deepEqual(inputsOf(copy)["metadata"], { name: "iam-signing-key", namespace: "tsb" });
    assert.deepEqual(inputsOf(copy)["data"], signingKey().data, "the data read from the active's iam-signing-key");
    const read = find(run, "mp1-iam-signing-key-read", "read");
    assert.equal(siteOf(read), "mp1", "read on the active's cluster");
    for (const before of ["mp2-namespace", "mp2-sa-jwk", "mp2-iam-signing-key"]) {
      assert.ok(dependsOn(run, "mp2-managementplane", before), `release after ${before}`);
    }
    assert.ok(!has(run, "mp1-sa-jwk") && !has(run, "mp1-iam-signing-key"), "the active keeps the key its chart made");
  });

  it("attaches the standby, and creates the floating name, after the active's release", () => {
    // A first install waits for the active to serve too: the gate polls until deployment tsb exists and
    // is ready (no baseline: nothing ran before), then the API answers; only then come the standby and DNS.
    const gate = find(run, "mp1-tsb-ready");
    assert.deepEqual((reveal(gate.inputs) as { baseline: unknown }).baseline, { exists: false });
    assert.equal((reveal(gate.inputs) as { promotion: string }).promotion, "install");
    assert.ok(!has(run, "mp1-tsb-baseline") && !has(run, "mp1-replication-gate"), "no promotion, so no baseline and no replication gate");
    assert.ok(dependsOn(run, "mp1-tsb-ready", "mp1-managementplane"));
    assert.ok(dependsOn(run, "mp1-api-verified", "mp1-tsb-ready"));
    assert.ok(dependsOn(run, "mp2-managementplane", "mp1-api-verified"));
    assert.ok(dependsOn(run, "floating-record", "mp1-api-verified"));
  });

  it("points the floating CNAME at the active's permanent FQDN with the configured TTL", () => {
    const record = find(run, "floating-record");
    assert.equal(record.type, "aws:route53/record:Record");
    assert.deepEqual(inputsOf(record), { zoneId: "Z0123456789", name: "active.tsb.example.com", type: "CNAME", ttl: 60, records: ["mp1.tsb.example.com"] });
    assert.equal(record.protect, true, "the floating record is guarded against deletion");
  });

  it("never deletes from a cluster: every Kubernetes resource is retained on delete", () => {
    for (const r of run.registrations.filter((x) => x.kind === "register" && K8S_TYPES.test(x.type))) {
      assert.equal(r.retainOnDelete, true, r.name);
    }
  });

  it("keeps keys, passwords and the JWK secret in every input and output", () => {
    const jwkD = (JSON.parse(JWK) as { d: string }).d;
    for (const r of run.registrations) {
      for (const { path: p, value } of plainStrings(r.inputs)) {
        // A dynamic resource's serialized provider is code (it mentions keys by name); it must carry no value.
        if (p === "__provider") {
          assert.ok(!value.includes("password-of-") && !value.includes(jwkD), `${r.name}'s provider code captured a secret`);
          continue;
        }
        assert.ok(!/PRIVATE KEY|password-of-|"d":/.test(value), `${r.name}.${p} is plain text: ${value.slice(0, 60)}`);
      }
    }
    for (const name of ["mp1-managementplane", "mp2-managementplane"]) {
      assert.ok(isSecretValue((find(run, name).inputs as Record<string, unknown>)["values"]), `${name} values are secret`);
    }
    assert.ok(isSecretValue((find(run, "mp2-iam-signing-key").inputs as Record<string, unknown>)["data"]));
    assert.ok(isSecretValue((find(run, "mp2-sa-jwk").inputs as Record<string, unknown>)["stringData"]));
    const outputs = run.outputs!;
    assert.equal(outputs["adminPassword"]!.secret, true);
    for (const [k, o] of Object.entries(outputs)) {
      if (o.secret) continue;
      assert.ok(!/PRIVATE KEY|password-of-/.test(JSON.stringify(o.value)), `output ${k} shows a secret`);
    }
  });

  it("exports the roles, FQDNs, root CA and the control-plane onboarding values", () => {
    const o = run.outputs!;
    assert.equal(o["activeSite"]!.value, "mp1");
    assert.equal(o["floatingFqdn"]!.value, "active.tsb.example.com");
    assert.deepEqual(o["sites"]!.value, {
      mp1: { role: "active", fqdn: "mp1.tsb.example.com", syncHost: null },
      mp2: { role: "standby", fqdn: "mp2.tsb.example.com", syncHost: "mp1.tsb.example.com" },
    });
    const root = o["rootCaCertPem"]!.value as string;
    assert.match(root, /BEGIN CERTIFICATE/);
    assert.deepEqual(o["controlPlaneValues"]!.value, {
      secrets: { elasticsearch: { cacert: root }, tsb: { cacert: root }, xcp: { rootca: root } },
      spec: {
        managementPlane: { host: "active.tsb.example.com", port: 443, clusterName: CLUSTER_NAME_PLACEHOLDER, selfSigned: true },
        telemetryStore: { elastic: { host: "active.tsb.example.com", port: 443, selfSigned: true } },
      },
    });
  });

  it("names resources after sites, never after roles", () => {
    for (const r of run.registrations) assert.ok(!/active|standby|fenced|primary/.test(r.name), r.name);
  });
});

const MP2_KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: mp2\n";

describe("three sites on Cloudflare with owned permanent records", () => {
  let run: ChildOutput;
  before(async () => {
    run = await runProgram(input(baseConfig({
      sites: {
        mp1: { context: "mp1", address: "203.0.113.10" },
        mp2: { context: "mp2", address: "lb-2.elb.example.net" },
        mp3: { kubeconfig: "/etc/kube/mp3.yaml", fqdn: "tsb-mp3.example.org" },
      },
      dns: { provider: "cloudflare", zoneId: "cf-zone", ttl: 30 },
      tsb: { version: "1.12.4", registry: "registry.example.com/tetrate", organization: "tetrate", frontEnvoyPort: 8443 },
      kubeconfigs: { mp2: MP2_KUBECONFIG },
    }), { secretKeys: ["standbyServiceAccountJwk", "kubeconfigs"] }));
    assert.deepEqual(run.errors, []);
  });

  it("makes every other site a standby of mp1 on the configured port", () => {
    for (const site of ["mp2", "mp3"]) {
      assert.deepEqual(values(find(run, `${site}-managementplane`)).spec.highAvailability, {
        standby: { activeMpSynchronizationEndpoint: { host: "mp1.tsb.example.com", port: 8443, selfSigned: true } },
      });
    }
  });

  it("uses Cloudflare records: the floating CNAME, an A record for an IP, a CNAME for an LB host name", () => {
    const floating = find(run, "floating-record");
    assert.equal(floating.type, "cloudflare:index/dnsRecord:DnsRecord");
    assert.deepEqual(inputsOf(floating), { zoneId: "cf-zone", name: "active.tsb.example.com", type: "CNAME", content: "mp1.tsb.example.com", ttl: 30, proxied: false });
    assert.deepEqual(inputsOf(find(run, "mp1-record")), { zoneId: "cf-zone", name: "mp1.tsb.example.com", type: "A", content: "203.0.113.10", ttl: 30, proxied: false });
    assert.deepEqual(inputsOf(find(run, "mp2-record")), { zoneId: "cf-zone", name: "mp2.tsb.example.com", type: "CNAME", content: "lb-2.elb.example.net", ttl: 30, proxied: false });
    assert.ok(!has(run, "mp3-record"), "no address, no record");
    assert.ok(!run.registrations.some((r) => r.type.startsWith("aws:")));
  });

  it("passes a site's kubeconfig (a path, or contents from the secret key) to its provider as a secret", () => {
    const mp3 = find(run, "mp3-k8s").inputs as Record<string, unknown>;
    assert.ok(isSecretValue(mp3["kubeconfig"]));
    assert.equal(reveal(mp3["kubeconfig"]), "/etc/kube/mp3.yaml");
    const mp2 = find(run, "mp2-k8s").inputs as Record<string, unknown>;
    assert.ok(isSecretValue(mp2["kubeconfig"]));
    assert.equal(reveal(mp2["kubeconfig"]), MP2_KUBECONFIG);
  });
});

describe("the example stack file", () => {
  it("passes validation and provisions mp1 active, mp2 standby once the JWK secret is set", async () => {
    const file = load(readFileSync(path.join(__dirname, "..", "Pulumi.example.yaml"), "utf8")) as { config: Record<string, unknown> };
    const config = Object.fromEntries(Object.entries(file.config)
      .filter(([k]) => k.startsWith("tsb-ha:"))
      .map(([k, v]) => [k.slice("tsb-ha:".length), v]));
    const run = await runProgram(input({ ...config, standbyServiceAccountJwk: JWK }));
    assert.deepEqual(run.errors, []);
    assert.deepEqual(run.outputs!["sites"]!.value, {
      mp1: { role: "active", fqdn: "mp1.tsb.example.com", syncHost: null },
      mp2: { role: "standby", fqdn: "mp2.tsb.example.com", syncHost: "mp1.tsb.example.com" },
    });
  });
});

describe("a single site (no standby yet: the first update of a new set)", () => {
  it("needs no JWK, reads nothing and still owns the floating name", async () => {
    const run = await runProgram(input(baseConfig({ sites: { mp1: { context: "mp1" } }, standbyServiceAccountJwk: undefined }), { secretKeys: [] }));
    assert.deepEqual(run.errors, []);
    assert.deepEqual(run.registrations.filter((r) => r.kind === "read" && r.type !== "pulumi:pulumi:StackReference").map((r) => r.name), []);
    assert.deepEqual((reveal(find(run, "floating-record").inputs) as { records: string[] }).records, ["mp1.tsb.example.com"]);
    assert.ok(dependsOn(run, "floating-record", "mp1-managementplane"));
  });
});
