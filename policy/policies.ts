// The tsb-ha policies, one factory per rule. Importing this module starts nothing: policy/index.ts
// wraps the factories in a PolicyPack, tests call them directly.
//
// What a policy sees (read from @pulumi/policy 1.21.0 and the engine):
// - validateStack gets every resource of the update with its *outputs* as `props`, secrets already
//   unwrapped to plain values. A ComponentResource's outputs are what it passed to registerOutputs:
//   the program's components register their identity there (site, role, fqdn; floatingFqdn, target),
//   and every fact read from a component also has a fallback on custom resources (the resource name,
//   the CSR's commonName, the floating record itself), so a policy never depends on them alone.
// - `opts` carries protect, ignoreChanges, deleteBeforeReplace, aliases, customTimeouts and
//   additionalSecretOutputs; retainOnDelete is not part of the analyzer protocol.
// - Only remediateResource sees secretness (secret values arrive as `Secret` instances), which is
//   why "secrets-stay-secret" is a remediation.
import {
  Secret,
  type EnforcementLevel,
  type PolicyResource,
  type ReportViolation,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationArgs,
  type StackValidationPolicy,
} from "@pulumi/policy";
// Names and type tokens come from the program's own lib/, so a rename there reaches the policies.
// Pulumi runs this pack with ts-node from policy/ (policy/tsconfig.json); files outside the folder
// load like any other: see the comment in policy/index.ts.
import { FENCE_DEPLOYMENTS } from "../lib/config/names";
import {
  COMPONENT_TYPE,
  FLOATING_RECORD_NAME,
  LEAF_PARTS,
  ROLE,
  certRequestName,
  fencePatchName,
  siteOfReleaseResource,
} from "../lib/plan/resourceNames";

/**
 * Type tokens the policies look for: the program's components (lib/plan/resourceNames.ts) and the
 * provider resources it registers (tokens of the pinned provider SDKs; test/policy.test.ts checks
 * that a real run registers each of them).
 */
export const TYPES = {
  release: "kubernetes:helm.sh/v3:Release",
  secret: "kubernetes:core/v1:Secret",
  deploymentPatch: "kubernetes:apps/v1:DeploymentPatch",
  kubernetesProvider: "pulumi:providers:kubernetes",
  managementPlane: COMPONENT_TYPE.managementPlane,
  siteFence: COMPONENT_TYPE.siteFence,
  floatingDns: COMPONENT_TYPE.floatingDns,
  route53Record: "aws:route53/record:Record",
  cloudflareRecord: "cloudflare:index/dnsRecord:DnsRecord",
  certRequest: "tls:index/certRequest:CertRequest",
  locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
  selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
  pki: COMPONENT_TYPE.pki,
} as const;
export const TTL_MAX = 300;
export const TTL_RECOMMENDED = 60;
/** Cloudflare's TTL 1 means "automatic", which Cloudflare documents as 300 s. */
const CLOUDFLARE_AUTO_TTL = 300;

// ---- reading the stack ----

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** DNS names compare case-insensitively and without a trailing dot. */
function dnsName(v: unknown): string | undefined {
  return typeof v === "string" ? v.toLowerCase().replace(/\.$/, "") : undefined;
}

function list(names: Iterable<string>): string {
  return [...names].join(", ");
}

export interface SiteView {
  name: string;
  /** The `managementplane` release (releaseResourceName(site)), when this stack manages the site. */
  release?: PolicyResource;
  /** From the ManagementPlane component, when its props are visible. */
  role?: string;
  /** Permanent FQDN: the ManagementPlane's `fqdn`, else the commonName of the site's front-envoy CSR. */
  fqdn?: string;
  fenced: boolean;
  /** An adopted MP that still runs with its installed values (adoption step import): checked by its own preflight. */
  asInstalled?: boolean;
}

export interface SetView {
  sites: Map<string, SiteView>;
  floatingRecord?: PolicyResource;
  floatingFqdn?: string;
  byName: Map<string, PolicyResource>;
}

/**
 * What the policies see of the set: sites (by their release, component, fence), the floating record
 * and every custom resource by name. Exported so tests can check that a valid run is seen whole.
 */
export function setView(resources: PolicyResource[]): SetView {
  const sites = new Map<string, SiteView>();
  const site = (name: string) => {
    let s = sites.get(name);
    if (!s) sites.set(name, (s = { name, fenced: false }));
    return s;
  };
  const byName = new Map(resources.filter((r) => r.type !== TYPES.kubernetesProvider).map((r) => [r.name, r]));
  let floatingRecord: PolicyResource | undefined;
  let floatingFqdn: string | undefined;
  for (const r of resources) {
    if (r.type === TYPES.managementPlane) {
      const s = site(str(r.props["site"]) ?? r.name);
      s.role = str(r.props["role"]);
      s.fqdn = dnsName(r.props["fqdn"]) ?? s.fqdn;
      if (r.props["adopted"] === "as-installed") s.asInstalled = true;
    } else if (r.type === TYPES.siteFence) {
      site(str(r.props["site"]) ?? r.name).fenced = true;
    } else if (r.type === TYPES.release && siteOfReleaseResource(r.name) !== undefined) {
      site(siteOfReleaseResource(r.name)!).release = r;
    } else if (r.type === TYPES.floatingDns) {
      floatingFqdn = dnsName(r.props["floatingFqdn"]) ?? floatingFqdn;
    } else if ((r.type === TYPES.route53Record || r.type === TYPES.cloudflareRecord) && r.name === FLOATING_RECORD_NAME) {
      floatingRecord = r;
    }
  }
  for (const s of sites.values()) {
    if (s.role === ROLE.fenced) s.fenced = true;
    s.fqdn ??= dnsName(at(byName.get(certRequestName(s.name, "tsb"))?.props, "subject", "commonName"));
  }
  floatingFqdn ??= dnsName(floatingRecord?.props["name"]);
  return { sites, byName, ...(floatingRecord ? { floatingRecord } : {}), ...(floatingFqdn ? { floatingFqdn } : {}) };
}

function ha(release: PolicyResource): { active?: unknown; standby?: unknown } {
  const block = at(release.props, "values", "spec", "highAvailability");
  return isObj(block) ? block : {};
}
const hasActive = (r: PolicyResource) => ha(r).active !== undefined && ha(r).active !== null;
const hasStandby = (r: PolicyResource) => ha(r).standby !== undefined && ha(r).standby !== null;

/** Sites whose release serves: managed, neither fenced nor lost. */
function serving(v: SetView): Array<SiteView & { release: PolicyResource }> {
  return [...v.sites.values()].filter((s): s is SiteView & { release: PolicyResource } =>
    s.release !== undefined && !s.fenced && s.role !== ROLE.lost);
}

/** The one serving site whose release carries the active block, if there is exactly one. */
function theActive(v: SetView): (SiteView & { release: PolicyResource }) | undefined {
  const actives = serving(v).filter((s) => hasActive(s.release));
  return actives.length === 1 ? actives[0] : undefined;
}

function floatingTarget(r: PolicyResource): string | undefined {
  if (r.type === TYPES.route53Record) {
    const records: unknown = r.props["records"];
    return Array.isArray(records) ? dnsName(records[0]) : undefined;
  }
  return dnsName(r.props["content"]);
}

function floatingTtl(r: PolicyResource): number | undefined {
  const ttl: unknown = r.props["ttl"];
  if (typeof ttl !== "number") return undefined;
  return r.type === TYPES.cloudflareRecord && ttl === 1 ? CLOUDFLARE_AUTO_TTL : ttl;
}

type StackRule = (v: SetView, report: ReportViolation, args: StackValidationArgs) => void;

function stackPolicy(name: string, description: string, enforcementLevel: EnforcementLevel, rule: StackRule): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel,
    validateStack: (args, report) => rule(setView(args.resources), report, args),
  };
}

// ---- the rules ----

export function singleActive(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("single-active",
    "Exactly one serving management-plane release carries spec.highAvailability.active (a fenced site keeps its old values).",
    level, (v, report) => {
      const live = serving(v);
      const actives = live.filter((s) => hasActive(s.release)).sort((a, b) => a.name.localeCompare(b.name));
      // Adoption step import: the installed MP serves as it always has; it gets the active block at activate.
      if (live.length > 0 && actives.length === 0 && !live.some((s) => s.asInstalled)) {
        report(`No serving management plane carries the active block (spec.highAvailability.active); serving: ${list(live.map((s) => s.name))}. ` +
          "Nothing exposes its embedded Postgres: standbys cannot synchronise and control planes have no active to write to.");
      } else if (actives.length > 1) {
        report(`${list(actives.map((s) => s.name))} all carry the active block (spec.highAvailability.active) and none is fenced. ` +
          "Two writable management planes diverge (split brain); fence the old active (sites.<name>.state: fenced) before promoting another.",
        actives[1]!.release.urn);
      } else if (actives.length === 1) {
        const active = actives[0]!;
        const declared = [...v.sites.values()].find((s) => s.role === ROLE.active);
        if (declared && declared.name !== active.name) {
          report(`${active.name} carries the active block but the stack's active site is ${declared.name}: ` +
            "the release values and the plan disagree about which management plane serves.", active.release.urn);
        }
      }
    });
}

export function standbysSyncFromActive(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("standbys-sync-from-active",
    "Every standby's synchronisation endpoint (spec.highAvailability.standby.activeMpSynchronizationEndpoint.host) is the active's permanent FQDN.",
    level, (v, report) => {
      const active = theActive(v);
      if (!active?.fqdn) return; // single-active reports a missing or doubled active
      for (const s of serving(v).filter((x) => hasStandby(x.release))) {
        const host = dnsName(at(ha(s.release).standby, "activeMpSynchronizationEndpoint", "host"));
        if (host !== active.fqdn) {
          report(`Standby ${s.name} synchronises from ${host ?? "(no host)"} but ${active.name} carries the active block and its permanent FQDN is ${active.fqdn}: ` +
            "the standby would replicate from a management plane that is not the active (or from none) and silently fall behind.", s.release.urn);
        }
      }
    });
}

export function floatingPointsAtActive(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("floating-points-at-active",
    `The floating CNAME (${FLOATING_RECORD_NAME}) points at the permanent FQDN of the site whose release carries the active block.`,
    level, (v, report) => {
      if (!v.floatingRecord) {
        report(`The stack has no floating record (resource ${FLOATING_RECORD_NAME}): control planes reach the set through that name only.`);
        return;
      }
      const active = theActive(v);
      if (!active?.fqdn) return;
      const target = floatingTarget(v.floatingRecord);
      if (target !== active.fqdn) {
        const owner = [...v.sites.values()].find((s) => s.fqdn === target);
        report(`The floating CNAME ${v.floatingFqdn ?? ""} points at ${target ?? "(nothing)"}${owner ? ` (${owner.name})` : ""} but ${active.name} carries the active block ` +
          `(permanent FQDN ${active.fqdn}): control planes would connect to a management plane that is not the active.`, v.floatingRecord.urn);
      }
    });
}

export function standbyNoPostgres(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("standby-no-postgres",
    "No standby exposes its embedded Postgres: a release with a standby block has no active block, and a standby site's release has no active block.",
    level, (v, report) => {
      for (const s of v.sites.values()) {
        if (!s.release || !hasActive(s.release)) continue;
        if (hasStandby(s.release)) {
          report(`The release of ${s.name} carries both spec.highAvailability.active and .standby: a standby would expose its embedded Postgres ` +
            "through its front envoy, and other standbys could attach to a database that is itself a replica.", s.release.urn);
        } else if (s.role === ROLE.standby) {
          report(`${s.name} is a standby but its release carries spec.highAvailability.active: it would expose its embedded Postgres ` +
            "and serve as a second active.", s.release.urn);
        }
      }
    });
}

export function oneRootCa(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("one-root-ca",
    "Every site's certificates come from the set's one root CA: secrets.xcp.autoGenerateCerts is false in every release, " +
    "and every LocallySignedCert is signed by the single self-signed CA certificate that the releases trust.",
    level, (v, report) => {
      // An adopted MP in step import runs its installed values and certificates: the preflight checked their CA.
      const releases = [...v.sites.values()].flatMap((s) => (s.release && !s.asInstalled ? [{ site: s.name, release: s.release }] : []));
      for (const { site, release } of releases) {
        const auto = at(release.props, "values", "secrets", "xcp", "autoGenerateCerts");
        if (auto !== false) {
          report(`The release of ${site} sets secrets.xcp.autoGenerateCerts to ${JSON.stringify(auto ?? null)} (must be false): ` +
            "the chart would make its own XCP CA per instance, and control planes that trust one instance would reject the other after a failover.", release.urn);
        }
      }
      const roots = [...v.byName.values()].filter((r) => r.type === TYPES.selfSignedCert && r.props["isCaCertificate"] === true);
      // An adopted set's CA is the one its control planes already trust, given in config: no root in the stack.
      const adoptedCa = [...v.byName.values()].find((r) => r.type === TYPES.pki && r.props["ca"] === "adopted");
      let ca: { pem: string | undefined; name: string; trusted: string };
      if (adoptedCa && roots.length === 0) {
        ca = { pem: str(adoptedCa.props["rootCaCertPem"]), name: "the adopted CA", trusted: "that CA" };
      } else if (roots.length !== 1) {
        report(`The stack has ${roots.length} self-signed CA certificates (${list(roots.map((r) => r.name))}); it needs exactly one root CA ` +
          "for every management plane, never one per instance (instances drift apart when one rotates).");
        return;
      } else {
        ca = { pem: str(roots[0]!.props["certPem"]), name: `the root CA ${roots[0]!.name}`, trusted: "the set's root" };
      }
      for (const cert of [...v.byName.values()].filter((r) => r.type === TYPES.locallySignedCert)) {
        if (str(cert.props["caCertPem"]) !== ca.pem) {
          report(`Certificate ${cert.name} is signed by a CA other than ${ca.name}: ` +
            `control planes trust only ${ca.trusted}, so they would reject this management plane.`, cert.urn);
        }
      }
      for (const { site, release } of releases) {
        if (str(at(release.props, "values", "secrets", "xcp", "rootca")) !== ca.pem) {
          report(`The release of ${site} sets secrets.xcp.rootca to something other than ${ca.name}: ` +
            "its XCP central would not trust the certificates of the set.", release.urn);
        }
      }
    });
}

export function certsCoverFloatingFqdn(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("certs-cover-site-and-floating-fqdn",
    `Each management plane's front-envoy and XCP central certificate requests (${list(LEAF_PARTS.map((p) => certRequestName("<site>", p)))}) ` +
    "list the site's permanent FQDN and the floating FQDN as DNS names.",
    level, (v, report) => {
      if (!v.floatingFqdn) return; // floating-points-at-active reports a missing floating record
      const managed = [...v.sites.values()].filter((s) => (s.release || s.role) && !s.asInstalled);
      for (const s of managed) {
        for (const part of LEAF_PARTS) {
          const name = certRequestName(s.name, part);
          const csr = v.byName.get(name);
          if (!csr || csr.type !== TYPES.certRequest) {
            report(`Site ${s.name} has no certificate request ${name}: its management plane would serve a certificate the set's root CA did not sign.`);
            continue;
          }
          const fqdn = s.fqdn ?? dnsName(at(csr.props, "subject", "commonName"));
          const sans = Array.isArray(csr.props["dnsNames"]) ? (csr.props["dnsNames"] as unknown[]).map(dnsName) : [];
          const missing = [fqdn, v.floatingFqdn].filter((n): n is string => n !== undefined && !sans.includes(n));
          if (missing.length > 0) {
            report(`Certificate request ${name} lacks ${list(missing)} in its DNS names (has ${list(sans.map((n) => n ?? "?")) || "none"}): ` +
              `clients that reach ${s.name} through ${missing.includes(v.floatingFqdn) ? "the floating name after a failover" : "its permanent name (standbys synchronising)"} would fail TLS verification.`, csr.urn);
          }
        }
      }
    });
}

export function floatingTtlLimit(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("floating-ttl-limit",
    `The floating record's TTL is at most ${TTL_MAX} seconds.`,
    level, (v, report) => {
      const ttl = v.floatingRecord ? floatingTtl(v.floatingRecord) : undefined;
      if (v.floatingRecord && ttl !== undefined && ttl > TTL_MAX) {
        report(`The floating record's TTL is ${ttl} s (at most ${TTL_MAX}): after a failover, control planes keep resolving the old active ` +
          `for up to ${ttl} s. Set tsb-ha:dns.ttl to ${TTL_RECOMMENDED} or less.`, v.floatingRecord.urn);
      }
    });
}

export function floatingTtlLow(level: EnforcementLevel = "advisory"): StackValidationPolicy {
  return stackPolicy("floating-ttl-low",
    `The floating record's TTL is at most ${TTL_RECOMMENDED} seconds, so clients re-resolve soon after a failover.`,
    level, (v, report) => {
      const ttl = v.floatingRecord ? floatingTtl(v.floatingRecord) : undefined;
      if (v.floatingRecord && ttl !== undefined && ttl > TTL_RECOMMENDED) {
        report(`The floating record's TTL is ${ttl} s (recommended ${TTL_RECOMMENDED} or less): a failover only takes effect for a client ` +
          `once its cached answer expires, up to ${ttl} s after the DNS change.`, v.floatingRecord.urn);
      }
    });
}

export function fencedSitesScaledDown(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("fenced-sites-scaled-down",
    `Every fenced site has its ${list(FENCE_DEPLOYMENTS)} deployments patched to 0 replicas (${list(FENCE_DEPLOYMENTS.map((d) => fencePatchName("<site>", d)))}).`,
    level, (v, report) => {
      for (const s of [...v.sites.values()].filter((x) => x.fenced)) {
        for (const deployment of FENCE_DEPLOYMENTS) {
          const name = fencePatchName(s.name, deployment);
          const patch = v.byName.get(name);
          const replicas = at(patch?.props, "spec", "replicas");
          if (!patch || patch.type !== TYPES.deploymentPatch) {
            report(`Fenced site ${s.name} has no ${name} DeploymentPatch: its ${deployment} deployment keeps running and accepting writes ` +
              "while another site is active (split brain).");
          } else if (replicas !== 0 || at(patch.props, "metadata", "name") !== deployment) {
            report(`Fenced site ${s.name}: ${name} sets deployment ${String(at(patch.props, "metadata", "name"))} to ${JSON.stringify(replicas ?? null)} replicas (must be ${deployment}, 0): ` +
              `a fenced management plane that still runs ${FENCE_DEPLOYMENTS.join(" or ")} accepts configuration the active never sees.`, patch.urn);
          }
        }
      }
    });
}

export function deletionGuards(level: EnforcementLevel = "mandatory"): StackValidationPolicy {
  return stackPolicy("deletion-guards",
    "The floating record and the root CA are protected; each release keeps its chart-made secrets on uninstall (secrets.keep). " +
    "The releases' retainOnDelete is not visible to policies (not in Pulumi's analyzer protocol); the program tests check it.",
    level, (v, report) => {
      if (v.floatingRecord && !v.floatingRecord.opts.protect) {
        report(`The floating record ${v.floatingRecord.name} is not protected: deleting it (a renamed resource, a destroy) cuts every control plane off the set.`,
          v.floatingRecord.urn);
      }
      for (const root of [...v.byName.values()].filter((r) => r.type === TYPES.selfSignedCert && r.props["isCaCertificate"] === true)) {
        if (!root.opts.protect) {
          report(`The root CA ${root.name} is not protected: a replaced root CA makes every control plane distrust every management plane.`, root.urn);
        }
      }
      for (const s of v.sites.values()) {
        if (s.release && !s.release.opts.protect && at(s.release.props, "values", "secrets", "keep") !== true) {
          report(`The release of ${s.name} does not set secrets.keep: true: an uninstall would delete iam-signing-key and the certificates ` +
            "that a standby and a rebuild depend on.", s.release.urn);
        }
      }
    });
}

// ---- secrets ----

export interface PlaintextSecret {
  /** Property path, e.g. ["values"] or ["data", "jwk"]. */
  path: string[];
  what: string;
}

/**
 * The raw properties of a remediation's `args.props`: @pulumi/policy wraps them in proxies that
 * unwrap secrets on read; the own property descriptors still hold the `Secret` instances.
 */
export function rawProps(props: Record<string, unknown>): Obj {
  const out: Obj = {};
  for (const k of Object.keys(props)) out[k] = Object.getOwnPropertyDescriptor(props, k)?.value;
  return out;
}

function privateJwk(v: unknown): boolean {
  if (isObj(v)) {
    if (typeof v["kty"] === "string" && typeof v["d"] === "string") return true;
    return Array.isArray(v["keys"]) && v["keys"].some(privateJwk);
  }
  if (typeof v === "string" && v.trimStart().startsWith("{") && v.includes("\"d\"")) {
    try {
      return privateJwk(JSON.parse(v));
    } catch {
      return false;
    }
  }
  return false;
}

/** Private keys, passwords and private JWKs that are not under a secret, in raw remediation props. */
export function findPlaintextSecrets(type: string, props: Obj): PlaintextSecret[] {
  const found: PlaintextSecret[] = [];
  const skip = new Set<string>();
  if (type === TYPES.release && props["values"] !== undefined) {
    skip.add("values");
    if (!(props["values"] instanceof Secret)) found.push({ path: ["values"], what: "helm values (they hold private keys and the admin password)" });
  }
  if (type === TYPES.secret) {
    for (const field of ["data", "stringData"]) {
      const map = props[field];
      skip.add(field);
      if (map === undefined || map instanceof Secret || !isObj(map)) continue;
      for (const [k, x] of Object.entries(map)) {
        if (!(x instanceof Secret)) found.push({ path: [field, k], what: `Kubernetes Secret ${field}.${k}` });
      }
    }
  }
  const walk = (x: unknown, path: string[]) => {
    if (x instanceof Secret) return;
    if (privateJwk(x)) {
      found.push({ path, what: "a private JWK (it has a \"d\" member)" });
    } else if (typeof x === "string") {
      if (x.includes("PRIVATE KEY")) found.push({ path, what: "a private key" });
      else if (/password/i.test(path[path.length - 1] ?? "") && x !== "") found.push({ path, what: "a password" });
    } else if (Array.isArray(x)) {
      x.forEach((e, i) => walk(e, [...path, String(i)]));
    } else if (isObj(x)) {
      for (const [k, e] of Object.entries(x)) walk(e, [...path, k]);
    }
  };
  for (const [k, x] of Object.entries(props)) if (!skip.has(k)) walk(x, [k]);
  return found;
}

function withSecrets(v: unknown, paths: string[][]): unknown {
  if (paths.some((p) => p.length === 0)) return new Secret(v);
  if (v instanceof Secret || v === null || typeof v !== "object") return v;
  const sub = (k: string) => paths.filter((p) => p[0] === k).map((p) => p.slice(1));
  if (Array.isArray(v)) return v.map((e, i) => withSecrets(e, sub(String(i))));
  return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, withSecrets(e, sub(k))]));
}

export function secretsStaySecret(level: EnforcementLevel = "remediate"): ResourceValidationPolicy {
  return {
    name: "secrets-stay-secret",
    description: "Private keys, passwords and private JWKs are Pulumi secrets (helm release values, Kubernetes Secret data/stringData, " +
      "any input holding \"PRIVATE KEY\" or a JWK with \"d\"), so they are encrypted in the state. As a remediation, this policy " +
      "marks a plaintext one secret before it is written (the engine reports each remediation); it needs enforcement level " +
      "\"remediate\" because @pulumi/policy shows secretness only to remediations.",
    enforcementLevel: level,
    remediateResource: (args: ResourceValidationArgs) => {
      const raw = rawProps(args.props);
      const found = findPlaintextSecrets(args.type, raw);
      if (found.length === 0) return undefined;
      return withSecrets(raw, found.map((f) => f.path)) as Record<string, unknown>;
    },
  };
}

/** Every policy of the pack, at its default level. */
export function allPolicies(): Array<StackValidationPolicy | ResourceValidationPolicy> {
  return [
    singleActive(),
    standbysSyncFromActive(),
    floatingPointsAtActive(),
    standbyNoPostgres(),
    oneRootCa(),
    certsCoverFloatingFqdn(),
    floatingTtlLimit(),
    floatingTtlLow(),
    secretsStaySecret(),
    fencedSitesScaledDown(),
    deletionGuards(),
  ];
}
