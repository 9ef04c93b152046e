// Policies against what the real program registers under mocks: valid sets produce no violation;
// each deliberately broken copy makes its policy fire once, with a message naming the rule and why.
// The broken copies edit free-form JSON (revealed resource inputs), hence `any` in their edits.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { StackValidationPolicy } from "@pulumi/policy";
import { find, isSecretValue, reveal, runProgram, type ChildInput, type ChildOutput, type Registration } from "./harness/runProgram";
import { policyResources, remediate, stackArgs, validate, type StackOptions, type Violation } from "./harness/policyResources";
import { baseConfig, input, JWK } from "./fixtures";
import { allPolicies, secretsStaySecret, setView, singleActive, TYPES } from "../policy/policies";
import { FENCE_DEPLOYMENTS, STANDBY_SA_SECRET } from "../lib/config/names";
import {
  certRequestName, COMPONENT_TYPE, fencePatchName, FLOATING_RECORD_NAME, LEAF_PARTS, leafCertName, namespaceName,
  releaseResourceName, rootCertName, standbyJwkSecretName,
} from "../lib/plan/resourceNames";

const THREE = { mp1: { context: "mp1" }, mp2: { context: "mp2" }, mp3: { context: "mp3" } };
const CLOUDFLARE = { provider: "cloudflare", zoneId: "cf-zone", ttl: 60 };

const stackPolicies = allPolicies().filter((p): p is StackValidationPolicy => "validateStack" in p);
const secrets = secretsStaySecret();

interface Run { input: ChildInput; output: ChildOutput }

async function run(i: ChildInput): Promise<Run> {
  const output = await runProgram(i);
  assert.deepEqual(output.errors, []);
  return { input: i, output };
}

/** Every stack policy over a run; violations of all of them. */
async function check(r: Run, opts: StackOptions = {}): Promise<Violation[]> {
  const args = stackArgs(policyResources(r.output, r.input, opts));
  return (await Promise.all(stackPolicies.map((p) => validate(p, args)))).flat();
}

/**
 * A copy of a run with one registration's inputs (secrets revealed) changed, and its recorded outputs
 * (`state`, where the harness records what the mock returned) changed the same way.
 */
function broken(r: Run, edits: Record<string, (inputs: Record<string, any>) => void>, registrations?: (regs: Registration[]) => Registration[]): Run {
  const output = structuredClone(r.output);
  for (const [name, edit] of Object.entries(edits)) {
    const reg = find(output, name) as Registration & { state?: unknown };
    const inputs = reveal(reg.inputs) as Record<string, any>;
    edit(inputs);
    reg.inputs = inputs;
    if (reg.state !== undefined) {
      const state = reveal(reg.state) as Record<string, any>;
      edit(state);
      reg.state = state;
    }
  }
  if (registrations) output.registrations = registrations(output.registrations);
  return { input: r.input, output };
}

/** A resource name inside a message regex, taken literally. */
const lit = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const firing = (vs: Violation[]) => [...new Set(vs.map((v) => v.policy))].sort();

/** Exactly one violation from `policy` (matching `message`), and only `alsoFiring` besides it. */
function assertFires(vs: Violation[], policy: string, message: RegExp, alsoFiring: string[] = []) {
  const own = vs.filter((v) => v.policy === policy);
  assert.equal(own.length, 1, `expected one ${policy} violation, got: ${JSON.stringify(vs, null, 1)}`);
  assert.match(own[0]!.message, message);
  assert.deepEqual(firing(vs), [policy, ...alsoFiring].sort(), JSON.stringify(vs, null, 1));
}

describe("policy pack", () => {
  let two: Run;
  let three: Run;
  let failedOver: Run;
  before(async () => {
    two = await run(input(baseConfig()));
    three = await run(input(baseConfig({ sites: THREE, dns: CLOUDFLARE })));
    failedOver = await run(input(
      baseConfig({ activeSite: "mp2", sites: { ...THREE, mp1: { context: "mp1", state: "fenced" } }, dns: CLOUDFLARE }),
      { previousOutputs: { history: three.output.outputs!["history"]!.value } },
    ));
  });

  it("names each policy once, with mandatory levels except the advisory TTL and the secrets remediation", () => {
    const levels = Object.fromEntries(allPolicies().map((p) => [p.name, p.enforcementLevel]));
    assert.equal(Object.keys(levels).length, allPolicies().length);
    assert.deepEqual(levels, {
      "single-active": "mandatory",
      "standbys-sync-from-active": "mandatory",
      "floating-points-at-active": "mandatory",
      "standby-no-postgres": "mandatory",
      "one-root-ca": "mandatory",
      "certs-cover-site-and-floating-fqdn": "mandatory",
      "floating-ttl-limit": "mandatory",
      "floating-ttl-low": "advisory",
      "secrets-stay-secret": "remediate",
      "fenced-sites-scaled-down": "mandatory",
      "deletion-guards": "mandatory",
    });
    assert.equal(singleActive("advisory").enforcementLevel, "advisory");
    for (const p of allPolicies()) assert.ok(p.description.length > 40, p.name);
  });

  describe("valid sets", () => {
    for (const [label, pick] of [
      ["two sites, route53", () => two],
      ["three sites, cloudflare", () => three],
      ["after failover: mp1 fenced, mp2 active", () => failedOver],
    ] as const) {
      it(`${label}: no violation, with component props as registered outputs and without them`, async () => {
        assert.deepEqual(await check(pick()), []);
        assert.deepEqual(await check(pick(), { componentProps: "none" }), []);
      });
      it(`${label}: nothing for secrets-stay-secret to remediate`, async () => {
        for (const r of pick().output.registrations) assert.equal(await remediate(secrets, r), undefined, r.name);
      });
    }

    it("after failover, the fenced mp1 keeps its active block and is scaled down", () => {
      const mp1 = reveal(find(failedOver.output, releaseResourceName("mp1")).inputs) as { values: { spec: { highAvailability: object } } };
      assert.ok("active" in mp1.values.spec.highAvailability);
      assert.equal((reveal(find(failedOver.output, fencePatchName("mp1", "iam")).inputs) as { spec: { replicas: number } }).spec.replicas, 0);
    });
  });

  describe("one vocabulary: every name and type the policies look for, a real run registers", () => {
    const runs = () => [two, three, failedOver];

    it("each type token the policies match is registered by one of the valid runs (route53 and cloudflare included)", () => {
      const registered = new Set(runs().flatMap((r) => r.output.registrations.map((x) => x.type)));
      for (const [key, token] of Object.entries(TYPES)) assert.ok(registered.has(token), `TYPES.${key} = ${token} is registered by no run`);
    });

    for (const componentProps of ["outputs", "none"] as const) {
      it(`the policies see every site of a valid run whole, by the names lib/plan/resourceNames.ts gives (component props: ${componentProps})`, () => {
        for (const r of runs()) {
          const planned = r.output.outputs!["sites"]!.value as Record<string, { role: string; fqdn: string }>;
          const v = setView(policyResources(r.output, r.input, { componentProps }));
          assert.deepEqual([...v.sites.keys()].sort(), Object.keys(planned).sort());
          for (const [site, { role, fqdn }] of Object.entries(planned)) {
            const seen = v.sites.get(site)!;
            assert.equal(seen.release?.name, releaseResourceName(site), `${site}: release`);
            assert.equal(seen.fqdn, fqdn, `${site}: permanent FQDN`);
            assert.equal(seen.fenced, role === "fenced", `${site}: fenced`);
            if (componentProps === "outputs") assert.equal(seen.role, role, `${site}: role`);
            for (const part of LEAF_PARTS) assert.equal(v.byName.get(certRequestName(site, part))?.type, TYPES.certRequest, `${site}: ${part} CSR`);
            if (role !== "fenced") continue;
            for (const deployment of FENCE_DEPLOYMENTS) {
              const patch = v.byName.get(fencePatchName(site, deployment));
              assert.equal(patch?.type, TYPES.deploymentPatch, `${site}: fence of ${deployment}`);
              assert.equal((patch.props["metadata"] as { name?: unknown }).name, deployment);
            }
          }
          assert.equal(v.floatingRecord?.name, FLOATING_RECORD_NAME);
          assert.equal(v.floatingFqdn, r.output.outputs!["floatingFqdn"]!.value);
        }
      });
    }
  });

  describe("broken copies", () => {
    it("single-active: no serving release carries the active block", async () => {
      const vs = await check(broken(two, { [releaseResourceName("mp1")]: (i) => { delete i.values.spec.highAvailability.active; } }));
      assertFires(vs, "single-active", /No serving management plane carries the active block.*serving: mp1, mp2/);
    });

    it("single-active: the old active is not fenced after a failover (two actives)", async () => {
      // Without component props the SiteFence is the only evidence of a fence; with them, mp1's role says fenced.
      const vs = await check(broken(failedOver, {}, (regs) => regs.filter((r) => r.type !== COMPONENT_TYPE.siteFence)), { componentProps: "none" });
      assertFires(vs, "single-active", /mp1, mp2 all carry the active block.*split brain/);
    });

    it("standbys-sync-from-active: a standby synchronises from another host", async () => {
      const vs = await check(broken(three, {
        [releaseResourceName("mp3")]: (i) => { i.values.spec.highAvailability.standby.activeMpSynchronizationEndpoint.host = "mp2.tsb.example.com"; },
      }));
      assertFires(vs, "standbys-sync-from-active",
        /Standby mp3 synchronises from mp2\.tsb\.example\.com but mp1 carries the active block and its permanent FQDN is mp1\.tsb\.example\.com/);
    });

    it("standbys-sync-from-active: after failover, a standby still follows the fenced site", async () => {
      const vs = await check(broken(failedOver, {
        [releaseResourceName("mp3")]: (i) => { i.values.spec.highAvailability.standby.activeMpSynchronizationEndpoint.host = "mp1.tsb.example.com"; },
      }));
      assertFires(vs, "standbys-sync-from-active", /Standby mp3 synchronises from mp1\.tsb\.example\.com but mp2 carries the active block/);
    });

    it("floating-points-at-active: the CNAME points at a standby (route53 and cloudflare)", async () => {
      const r53 = await check(broken(two, { [FLOATING_RECORD_NAME]: (i) => { i.records = ["mp2.tsb.example.com"]; } }));
      assertFires(r53, "floating-points-at-active",
        /floating CNAME active\.tsb\.example\.com points at mp2\.tsb\.example\.com \(mp2\) but mp1 carries the active block.*control planes would connect to a management plane that is not the active/);
      const cf = await check(broken(failedOver, { [FLOATING_RECORD_NAME]: (i) => { i.content = "mp1.tsb.example.com"; } }));
      assertFires(cf, "floating-points-at-active", /points at mp1\.tsb\.example\.com \(mp1\) but mp2 carries the active block/);
    });

    it("standby-no-postgres (and single-active): a standby's release also carries the active block", async () => {
      const vs = await check(broken(two, {
        [releaseResourceName("mp2")]: (i) => { i.values.spec.highAvailability.active = { exposeEmbeddedPostgresInFrontEnvoy: true }; },
      }));
      assertFires(vs, "standby-no-postgres", /release of mp2 carries both spec\.highAvailability\.active and \.standby: a standby would expose its embedded Postgres/,
        ["single-active"]);
    });

    it("standby-no-postgres (with single-active, floating-points-at-active): roles swapped in the values only, seen through the component's role", async () => {
      const vs = await check(broken(two, {
        [releaseResourceName("mp1")]: (i) => { i.values.spec.highAvailability = { standby: { activeMpSynchronizationEndpoint: { host: "mp2.tsb.example.com", port: 443, selfSigned: true } } }; },
        [releaseResourceName("mp2")]: (i) => { i.values.spec.highAvailability = { active: { exposeEmbeddedPostgresInFrontEnvoy: true } }; },
      }));
      assertFires(vs, "standby-no-postgres", /mp2 is a standby but its release carries spec\.highAvailability\.active/, ["single-active", "floating-points-at-active"]);
      assert.match(vs.find((v) => v.policy === "single-active")!.message, /mp2 carries the active block but the stack's active site is mp1/);
    });

    it("one-root-ca: autoGenerateCerts true", async () => {
      const vs = await check(broken(three, { [releaseResourceName("mp2")]: (i) => { i.values.secrets.xcp.autoGenerateCerts = true; } }));
      assertFires(vs, "one-root-ca", /release of mp2 sets secrets\.xcp\.autoGenerateCerts to true \(must be false\).*own XCP CA per instance/);
    });

    it("one-root-ca: a site certificate signed by another CA", async () => {
      const vs = await check(broken(two, { [leafCertName("mp2", "xcp-central")]: (i) => { i.caCertPem = "-----BEGIN CERTIFICATE-----\nother-ca\n-----END CERTIFICATE-----\n"; } }));
      assertFires(vs, "one-root-ca",
        new RegExp(`Certificate ${lit(leafCertName("mp2", "xcp-central"))} is signed by a CA other than the root CA ${lit(rootCertName())}`));
    });

    it("certs-cover-site-and-floating-fqdn: the floating FQDN dropped from a SAN list", async () => {
      const vs = await check(broken(three, {
        [certRequestName("mp3", "xcp-central")]: (i) => { i.dnsNames = (i.dnsNames as string[]).filter((n) => n !== "active.tsb.example.com"); },
      }));
      assertFires(vs, "certs-cover-site-and-floating-fqdn",
        new RegExp(`Certificate request ${lit(certRequestName("mp3", "xcp-central"))} lacks active\\.tsb\\.example\\.com in its DNS names.*through the floating name after a failover would fail TLS verification`));
    });

    it("certs-cover-site-and-floating-fqdn: the site's own FQDN missing (FQDN from the CSR's commonName)", async () => {
      const vs = await check(broken(two, {
        [certRequestName("mp1", "tsb")]: (i) => { i.dnsNames = ["active.tsb.example.com"]; },
      }));
      assertFires(vs, "certs-cover-site-and-floating-fqdn",
        new RegExp(`${lit(certRequestName("mp1", "tsb"))} lacks mp1\\.tsb\\.example\\.com in its DNS names.*its permanent name`));
    });

    it("floating-ttl-limit and floating-ttl-low: TTL 600", async () => {
      const vs = await check(broken(two, { [FLOATING_RECORD_NAME]: (i) => { i.ttl = 600; } }));
      assertFires(vs, "floating-ttl-limit", /TTL is 600 s \(at most 300\).*keep resolving the old active for up to 600 s/, ["floating-ttl-low"]);
    });

    it("floating-ttl-low alone: TTL 120, and Cloudflare's automatic TTL (1 = 300 s)", async () => {
      const vs = await check(broken(two, { [FLOATING_RECORD_NAME]: (i) => { i.ttl = 120; } }));
      assertFires(vs, "floating-ttl-low", /TTL is 120 s \(recommended 60 or less\)/);
      const auto = await check(broken(three, { [FLOATING_RECORD_NAME]: (i) => { i.ttl = 1; } }));
      assertFires(auto, "floating-ttl-low", /TTL is 300 s/);
    });

    it("fenced-sites-scaled-down: a fenced deployment at 1 replica, or its patch missing", async () => {
      const one = await check(broken(failedOver, { [fencePatchName("mp1", "iam")]: (i) => { i.spec.replicas = 1; } }));
      assertFires(one, "fenced-sites-scaled-down",
        new RegExp(`Fenced site mp1: ${lit(fencePatchName("mp1", "iam"))} sets deployment iam to 1 replicas \\(must be iam, 0\\)`));
      const gone = await check(broken(failedOver, {}, (regs) => regs.filter((r) => r.name !== fencePatchName("mp1", "tsb"))));
      assertFires(gone, "fenced-sites-scaled-down", new RegExp(`Fenced site mp1 has no ${lit(fencePatchName("mp1", "tsb"))} DeploymentPatch.*split brain`));
    });

    it("deletion-guards: the floating record unprotected; a release without secrets.keep", async () => {
      const unprotected = broken(three, {});
      find(unprotected.output, FLOATING_RECORD_NAME).protect = false;
      assertFires(await check(unprotected), "deletion-guards",
        new RegExp(`floating record ${lit(FLOATING_RECORD_NAME)} is not protected: .*cuts every control plane off`));
      const vs = await check(broken(two, { [releaseResourceName("mp2")]: (i) => { i.values.secrets.keep = false; } }));
      assertFires(vs, "deletion-guards", /release of mp2 does not set secrets\.keep: true/);
    });

    it("the program guards what deletion-guards cannot see: releases retainOnDelete, floating record protect", () => {
      for (const r of [two, three, failedOver]) {
        for (const reg of r.output.registrations.filter((x) => x.type === TYPES.release)) assert.equal(reg.retainOnDelete, true, reg.name);
        assert.equal(find(r.output, FLOATING_RECORD_NAME).protect, true);
      }
    });
  });

  describe("secrets-stay-secret (a remediation: only remediations see secretness)", () => {
    /** The standby's service-account Secret (data or stringData holds the JWK). */
    const jwkSecret = (r: Run, site: string) => {
      const reg = find(r.output, standbyJwkSecretName(site));
      assert.equal(reg.type, TYPES.secret);
      assert.equal((reveal(reg.inputs) as { metadata: { name: string } }).metadata.name, STANDBY_SA_SECRET);
      return reg;
    };
    const unsecret = (r: Run, name: string, field: string) => {
      const copy = structuredClone(find(r.output, name));
      (copy.inputs as Record<string, unknown>)[field] = reveal((copy.inputs as Record<string, unknown>)[field]);
      return copy;
    };

    it("marks plaintext helm values secret, and leaves the rest as it was", async () => {
      const reg = unsecret(two, releaseResourceName("mp1"), "values");
      const fixed = await remediate(secrets, reg);
      assert.ok(fixed, "expected a remediation");
      assert.ok(isSecretValue(fixed["values"]));
      assert.deepEqual(reveal(fixed), reveal(reg.inputs));
      assert.equal(fixed["chart"], "managementplane");
    });

    it("marks a plaintext private key input secret", async () => {
      const reg = unsecret(three, certRequestName("mp3", "tsb"), "privateKeyPem");
      const fixed = await remediate(secrets, reg);
      assert.ok(fixed && isSecretValue(fixed["privateKeyPem"]));
      assert.ok(!isSecretValue(fixed["dnsNames"]));
    });

    it("marks a plaintext JWK in a Kubernetes Secret's stringData secret, key by key", async () => {
      const sa = jwkSecret(two, "mp2");
      const field = "stringData" in (sa.inputs as object) ? "stringData" : "data";
      const fixed = await remediate(secrets, unsecret(two, sa.name, field));
      const map = fixed?.[field] as Record<string, unknown> | undefined;
      assert.ok(map && Object.keys(map).length > 0 && Object.values(map).every(isSecretValue), JSON.stringify(fixed));
    });

    it("finds a private JWK or password outside the known places", async () => {
      const reg = structuredClone(find(two.output, namespaceName("mp1")));
      const jwk = JSON.stringify(JSON.parse(JWK));
      (reg.inputs as { metadata: Record<string, unknown> }).metadata["annotations"] = { note: jwk, adminPassword: "hunter2" };
      const fixed = await remediate(secrets, reg);
      const annotations = (fixed?.["metadata"] as { annotations: Record<string, unknown> } | undefined)?.annotations;
      assert.ok(annotations && isSecretValue(annotations["note"]) && isSecretValue(annotations["adminPassword"]));
    });
  });

  describe("the pack and the workflow files", () => {
    it("PulumiPolicy.yaml is a nodejs pack; policy/package.json pins the root's versions", () => {
      const root = path.join(__dirname, "..");
      const pack = yaml.load(fs.readFileSync(path.join(root, "policy", "PulumiPolicy.yaml"), "utf8")) as Record<string, unknown>;
      assert.equal(pack["runtime"], "nodejs");
      const pkg = JSON.parse(fs.readFileSync(path.join(root, "policy", "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
      const rootPkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
      assert.ok(pkg.version, "PolicyPack reads the version from package.json");
      assert.equal(pkg.dependencies["@pulumi/policy"], rootPkg.devDependencies["@pulumi/policy"]);
      assert.equal(pkg.dependencies["@pulumi/pulumi"], rootPkg.dependencies["@pulumi/pulumi"]);
    });

    it("the CI workflow previews with the policy pack and deploys from main behind an environment", () => {
      const wf = yaml.load(fs.readFileSync(path.join(__dirname, "..", ".github", "workflows", "pulumi.yml"), "utf8")) as {
        jobs: Record<string, { environment?: unknown; steps: Array<{ uses?: string; with?: Record<string, unknown> }> }>;
      };
      const pulumiSteps = Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.uses?.startsWith("pulumi/actions@")));
      assert.deepEqual(pulumiSteps.map((s) => s.with?.["command"]).sort(), ["preview", "up"]);
      for (const s of pulumiSteps) assert.equal(s.with?.["policyPacks"], "policy");
      const up = Object.values(wf.jobs).find((j) => j.steps.some((s) => s.with?.["command"] === "up"))!;
      assert.equal(up.environment, "production");
    });
  });
});
